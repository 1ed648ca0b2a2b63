// The live player inside a merchant's page: the video, and the shop banner following the
// host's pins (held until the picture shows them). Buying opens Vitrine in a new tab: in a
// third-party frame the browser keeps our cookies away, so there is no cart here.
import { LiveClient } from "/static/js/live.js";
import { createPlayer } from "/static/js/player.js";

const root = document.querySelector("[data-embed-live]");
if (root) start(root);

function start(root) {
  const banner = root.querySelector("[data-banner]");
  const player = createPlayer(root, { src: root.dataset.hls, live: true });

  function formatPrice(minor, currency) {
    const format = new Intl.NumberFormat(undefined, { style: "currency", currency });
    return format.format(minor / 10 ** format.resolvedOptions().maximumFractionDigits);
  }

  function showBanner(pin) {
    if (!pin) { banner.hidden = true; banner.dataset.productId = ""; return; }
    banner.dataset.productId = pin.product_id;
    banner.querySelector("[data-banner-title]").textContent = pin.title;
    banner.querySelector("[data-banner-price]").textContent = formatPrice(pin.price_minor, pin.currency);
    const image = banner.querySelector("img");
    if (pin.image_url) { image.src = pin.image_url; image.hidden = false; } else { image.hidden = true; }
    banner.hidden = false;
  }

  const live = new LiveClient(root.dataset.liveUrl);
  live.on("snapshot", (snapshot) => showBanner(snapshot.pinned));
  live.on("product_pinned", async (event) => { await player.holdUntil(event.at); showBanner(event); });
  live.on("product_unpinned", async (event) => {
    await player.holdUntil(event.at);
    if (banner.dataset.productId === event.product_id) showBanner(null);
  });
  // The show ended: the same frame becomes its replay.
  live.on("show_state", (event) => { if (event.state === "ended") setTimeout(() => location.reload(), 3000); });
  live.connect();
}
