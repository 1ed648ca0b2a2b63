// The shoppable replay: the recording, its product timeline (a marker per pin; a click seeks
// there and opens the product's sheet), the product on screen, and the chat replayed in step:
// a message appears when the frame playing reaches the moment it was sent; seeking back
// re-renders. Chat text is only ever inserted with textContent.
import { createPlayer } from "/static/js/player.js";

const MAX_LINES = 200;

for (const root of document.querySelectorAll("[data-replay]")) startReplay(root);

export function startReplay(root) {
  const $ = (selector) => root.querySelector(selector);
  const data = JSON.parse($("[data-replay-data]").textContent);
  const stage = $("[data-stage]");
  const chatList = $("[data-replay-chat]");
  const banner = $("[data-now-showing]");
  const playhead = $("[data-playhead]");
  const track = $("[data-track]");
  const markers = [...root.querySelectorAll("[data-marker]")];
  const player = createPlayer(stage, { src: root.dataset.hls, live: false });
  const video = player.video;
  let shown = 0; // how many chat lines (in sent order) are on screen
  let current = null; // the pin on screen

  const duration = () => (Number.isFinite(video.duration) && video.duration > 0 ? video.duration : data.duration_s);

  /** Wall-clock ms of the frame at `position` s, from the recording's dated segments. */
  function filmedAt(position) {
    let anchor = null;
    for (const candidate of data.anchors) {
      if (candidate[0] <= position + 0.001) anchor = candidate; else break;
    }
    anchor = anchor || data.anchors[0];
    return anchor ? anchor[1] + (position - anchor[0]) * 1000 : null;
  }

  function clock(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const h = Math.floor(s / 3600);
    const mm = String(Math.floor((s % 3600) / 60)).padStart(h ? 2 : 1, "0");
    const ss = String(s % 60).padStart(2, "0");
    return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
  }

  function line(message) {
    const item = document.createElement("li");
    item.className = "chat-line";
    item.dataset.messageId = message.id;
    const author = document.createElement("strong");
    author.className = "author";
    author.textContent = message.author;
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = message.text;
    item.append(author, " ", text);
    return item;
  }

  function syncChat(position) {
    const now = filmedAt(position);
    let due = 0;
    if (now != null) {
      let lo = 0;
      let hi = data.chat.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (data.chat[mid].at <= now) lo = mid + 1; else hi = mid;
      }
      due = lo;
    }
    if (due === shown) return;
    if (due < shown) {
      // Sought back: what was said after this moment has not been said yet.
      chatList.replaceChildren();
      shown = Math.max(0, due - MAX_LINES);
    }
    const fragment = document.createDocumentFragment();
    for (let i = Math.max(shown, due - MAX_LINES); i < due; i++) fragment.append(line(data.chat[i]));
    chatList.append(fragment);
    shown = due;
    while (chatList.children.length > MAX_LINES) chatList.firstElementChild.remove();
    chatList.scrollTop = chatList.scrollHeight;
  }

  function pinAt(position) {
    let found = null;
    for (const pin of data.pins) {
      if (pin.offset_s <= position + 0.001 && position < Math.max(pin.end_s, pin.offset_s + 1)) found = pin;
    }
    return found;
  }

  function showPin(pin) {
    if (pin === current) return;
    current = pin;
    for (const marker of markers) {
      const on = Boolean(pin) && marker.dataset.productId === String(pin.product_id) && Number(marker.dataset.offset) === pin.offset_s;
      marker.setAttribute("aria-current", on ? "true" : "false");
    }
    root.dataset.nowShowing = pin ? String(pin.product_id) : "";
    if (!pin) { banner.hidden = true; return; }
    $("[data-now-title]").textContent = pin.title;
    $("[data-now-price]").textContent = pin.price_text;
    const image = banner.querySelector("img");
    if (pin.image_url) { image.src = pin.image_url; image.hidden = false; } else { image.hidden = true; }
    banner.hidden = false;
  }

  function openProduct(productId) {
    for (const card of root.querySelectorAll("[data-product-card]")) {
      card.setAttribute("aria-current", card.dataset.productCard === String(productId) ? "true" : "false");
    }
    const card = root.querySelector(`[data-product-card="${CSS.escape(String(productId))}"]`);
    card?.scrollIntoView({ block: "nearest", behavior: "smooth" });
    root.dataset.openProduct = String(productId);
  }

  function update() {
    const position = video.currentTime;
    syncChat(position);
    showPin(pinAt(position));
    const total = duration();
    if (total) playhead.style.left = `${Math.min(100, (position / total) * 100)}%`;
  }

  function placeDots() {
    const total = duration();
    if (!total) return;
    track.querySelectorAll(".timeline-dot").forEach((dot) => dot.remove());
    for (const pin of data.pins) {
      const dot = document.createElement("button");
      dot.type = "button";
      dot.className = "timeline-dot";
      dot.title = pin.title;
      dot.tabIndex = -1; // the labelled markers below are the keyboard's way in
      dot.style.left = `${Math.min(100, (pin.offset_s / total) * 100)}%`;
      dot.addEventListener("click", () => jumpTo(pin.offset_s, pin.product_id));
      track.append(dot);
    }
  }

  function jumpTo(offset, productId) {
    // A hair past the pin, so the frame shown is already the one with the product.
    video.currentTime = Math.min(offset + 0.05, Math.max(0, duration() - 0.1));
    update();
    openProduct(productId);
    if (video.paused) video.play().catch(() => {});
  }

  for (const marker of markers) {
    marker.querySelector("[data-clock]").textContent = clock(Number(marker.dataset.offset));
    marker.addEventListener("click", () => jumpTo(Number(marker.dataset.offset), marker.dataset.productId));
  }
  $("[data-open-product]").addEventListener("click", () => { if (current) openProduct(current.product_id); });
  track.addEventListener("click", (event) => {
    if (event.target !== track) return;
    const box = track.getBoundingClientRect();
    video.currentTime = ((event.clientX - box.left) / box.width) * duration();
  });

  for (const form of root.querySelectorAll("[data-add-to-cart]")) {
    form.addEventListener("submit", (event) => addToCart(event, form));
  }

  async function addToCart(event, form) {
    event.preventDefault();
    const note = form.parentElement.querySelector("[data-added]");
    const body = new FormData(form);
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body,
        headers: { accept: "application/json", "x-csrf-token": body.get("_csrf_token") || "" },
        credentials: "same-origin",
      });
      const answer = await response.json().catch(() => ({}));
      note.replaceChildren();
      if (response.ok) {
        const link = document.createElement("a");
        link.href = answer.cart_url || "/cart";
        link.textContent = "View cart";
        note.append(`Added · ${answer.count ?? ""} in your cart · `, link);
        root.dataset.cartCount = String(answer.count ?? "");
      } else {
        note.textContent = answer.detail || "Could not add this to your cart";
      }
      note.hidden = false;
    } finally {
      button.disabled = false;
    }
  }

  video.addEventListener("timeupdate", update);
  video.addEventListener("seeked", update);
  video.addEventListener("loadedmetadata", () => { placeDots(); update(); });
  placeDots();
  update();

  // Opened from a link to one product (#product-12): its sheet first.
  const wanted = location.hash.match(/^#product-(\d+)$/);
  if (wanted) openProduct(wanted[1]);
  root.replay = { player, jumpTo, filmedAt }; // for the browser tests and the curious
  return root.replay;
}
