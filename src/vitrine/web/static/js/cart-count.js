// The cart link's count in the top bar (guest carts too: the count comes from the server).
import { updateCartCount } from "/static/js/product-sheet.js";

if (document.querySelector("[data-cart-count]")) {
  fetch("/cart/count", { headers: { accept: "application/json" } })
    .then((response) => (response.ok ? response.json() : { count: 0 }))
    .then((data) => updateCartCount(data.count))
    .catch(() => {});
}
