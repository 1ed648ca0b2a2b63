// Product sheets of the live page's Shop tab: variant picker, price, stock left, Add to cart
// and Buy now. Sheets are server-rendered (GET /shows/<id>/shop); this module wires them.

/** The CSRF token the pages' forms carry, for scripted POSTs (header x-csrf-token). */
export function csrfToken() {
  const match = document.cookie.match(/(?:^|; )vitrine_csrf=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

/** `?platform=` of the page, carried to every request so tests can pick a platform. */
export function withPlatform(url) {
  const platform = new URLSearchParams(location.search).get("platform");
  if (!platform) return url;
  return `${url}${url.includes("?") ? "&" : "?"}platform=${encodeURIComponent(platform)}`;
}

/** POST form fields, answer JSON; a refusal throws an Error with the server's message. */
export async function postJSON(url, fields = {}) {
  const response = await fetch(withPlatform(url), {
    method: "POST",
    headers: { "x-csrf-token": csrfToken(), accept: "application/json" },
    body: new URLSearchParams(fields),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const fields = data.errors ? Object.values(data.errors).join("; ") : "";
    const error = new Error(fields || data.detail || `Refused (${response.status})`);
    error.status = response.status;
    throw error;
  }
  return data;
}

/** A key for one press of a buy button: a double tap sends the same one. */
export function newKey() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function updateCartCount(count) {
  for (const badge of document.querySelectorAll("[data-cart-count]")) {
    badge.textContent = String(count);
    badge.hidden = !count;
  }
}

function selected(sheet) {
  return sheet.querySelector("input[name=variant_id]:checked");
}

/** Show the chosen variant's price, compare-at price and stock; disable buying when none left. */
export function refreshSheet(sheet) {
  const choice = selected(sheet);
  if (!choice) return;
  const stock = Number(choice.dataset.stock);
  sheet.querySelector("[data-sheet-price]").textContent = choice.dataset.price;
  const compare = sheet.querySelector("[data-sheet-compare]");
  compare.textContent = choice.dataset.compare || "";
  compare.hidden = !choice.dataset.compare;
  const left = sheet.querySelector("[data-stock-left]");
  if (left) left.textContent = stock > 0 ? `${stock} left` : "Sold out";
  sheet.dataset.soldOut = stock > 0 ? "" : "1";
  for (const button of sheet.querySelectorAll("[data-buy-button]")) button.disabled = stock <= 0;
}

/** A product's stock changed (stock_changed): its total over every variant. */
export function applyStock(sheet, stockLeft) {
  const choices = [...sheet.querySelectorAll("input[name=variant_id]")];
  if (choices.length === 1) {
    choices[0].dataset.stock = String(stockLeft);
  } else {
    for (const choice of choices) {
      choice.dataset.stock = String(Math.min(Number(choice.dataset.stock), stockLeft));
    }
  }
  refreshSheet(sheet);
}

/** Wire every sheet inside `container`. `say(text)` shows a short message. */
export function wireSheets(container, { say }) {
  for (const sheet of container.querySelectorAll("[data-sheet]")) {
    sheet.addEventListener("change", (event) => {
      if (event.target.name === "variant_id") refreshSheet(sheet);
    });
    refreshSheet(sheet);
    const form = sheet.querySelector("[data-sheet-form]");
    const said = sheet.querySelector("[data-sheet-said]");
    form?.addEventListener("submit", async (event) => {
      event.preventDefault();
      const then = event.submitter?.value || "cart";
      const fields = Object.fromEntries(new FormData(form));
      delete fields._csrf_token;
      fields.then = then;
      try {
        const answer = await postJSON("/cart/add", fields);
        updateCartCount(answer.count);
        if (then === "checkout") {
          location.assign(withPlatform(answer.checkout_url));
          return;
        }
        if (said) said.textContent = "Added to your cart.";
        say?.("Added to your cart");
      } catch (error) {
        if (said) said.textContent = error.message;
        if (error.status === 401) location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
      }
    });
  }
}
