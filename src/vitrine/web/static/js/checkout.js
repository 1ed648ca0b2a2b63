// Checkout, payment and order pages: a small muted player keeps the live show in view, and an
// order waiting for its payment's confirmation (the provider's webhook) refreshes once paid.
import { createPlayer } from "/static/js/player.js";

const mini = document.querySelector("[data-mini-player]");
if (mini) {
  createPlayer(mini.querySelector("[data-mini-stage]"), { src: mini.dataset.hls, live: true, syncEvents: false });
}

const order = document.querySelector("[data-order][data-order-status='pending_payment']");
if (order) poll(order.dataset.order, 0);

function poll(orderId, attempt) {
  const delay = Math.min(1000 + attempt * 500, 5000);
  setTimeout(async () => {
    try {
      const response = await fetch(`/orders/${orderId}/status`, { headers: { accept: "application/json" } });
      const data = await response.json();
      if (data.status !== "pending_payment") {
        location.reload();
        return;
      }
    } catch {
      // offline for a moment: try again
    }
    if (attempt < 240) poll(orderId, attempt + 1);
  }, delay);
}
