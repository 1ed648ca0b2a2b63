// Counts product clicks on the show page for the show's analytics: opening the shop banner
// or a product card posts {"product_id"} to /shows/<id>/clicks. Fire and forget; include with
// <script type="module" src="/static/js/analytics-clicks.js"></script> on the show page.
const show = document.querySelector("[data-show-id]");

function csrfToken() {
  const match = document.cookie.match(/(?:^|; )vitrine_csrf=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

export function countClick(showId, productId) {
  const id = Number(productId);
  if (!showId || !Number.isInteger(id) || id <= 0) return;
  fetch(`/shows/${showId}/clicks`, {
    method: "POST",
    keepalive: true,
    credentials: "same-origin",
    headers: { "content-type": "application/json", "x-csrf-token": csrfToken() },
    body: JSON.stringify({ product_id: id }),
  }).catch(() => {});
}

if (show) {
  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    const opener = target?.closest("[data-banner-open], [data-product-card], [data-product-open]");
    if (!opener) return;
    const holder = opener.closest("[data-product-id]");
    countClick(show.dataset.showId, holder?.dataset.productId ?? opener.dataset.productId);
  });
}
