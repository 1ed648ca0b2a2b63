// The live page's buying: the Shop tab (lineup and product sheets over the playing video) and
// the flash-deal card with its countdown, buy tap and payment, all without leaving the page.
// Live updates: stock_changed, deal_started, deal_updated, deal_ended (docs/events.md).
import { applyStock, newKey, postJSON, wireSheets, withPlatform } from "/static/js/product-sheet.js";

export function startShop(root, live, { say, formatPrice }) {
  const $ = (selector) => root.querySelector(selector);
  const drawer = $("[data-shop-drawer]");
  const tab = $("[data-shop-tab]");
  const banner = $("[data-banner]");
  if (!drawer || !tab) return;
  const body = drawer.querySelector("[data-shop-body]");
  const showId = root.dataset.showId;
  const signedIn = root.dataset.signedIn === "1";
  const stock = new Map(); // product_id → latest stock_left, applied to sheets loaded later
  const deals = new Map(); // deal_id → deal_started event (+ stock_left kept current)
  let loaded = null;
  let mayBuy = true;

  /** This platform may watch but not buy: say so, and no Buy button anywhere. */
  function watchOnly(text) {
    const notice = $("[data-watch-only]");
    if (notice) { notice.textContent = text; notice.hidden = false; }
    root.dataset.watchOnly = "1";
    buy.hidden = true;
    said.textContent = text;
  }

  function load() {
    loaded ??= fetch(withPlatform(drawer.dataset.shopUrl), { headers: { accept: "text/html" } })
      .then((response) => (response.ok ? response.text() : Promise.reject(new Error("The shop could not be loaded"))))
      .then((html) => {
        body.innerHTML = html; // our own server-rendered fragment, never user text as HTML
        const list = body.querySelector("[data-shop-list]");
        mayBuy = list?.dataset.mayBuy !== "0";
        if (!mayBuy) watchOnly(list.dataset.watchOnlyText);
        wireSheets(body, { say });
        for (const [productId, left] of stock) applyStockTo(productId, left);
        for (const deal of deals.values()) markSheetDeal(deal);
        body.addEventListener("click", (event) => {
          const opener = event.target.closest("[data-open-sheet]");
          if (opener) openSheet(opener.dataset.openSheet);
          if (event.target.closest("[data-close-sheet]")) closeSheets();
        });
      })
      .catch((error) => { loaded = null; body.textContent = error.message; });
    return loaded;
  }

  function openDrawer() {
    drawer.hidden = false;
    tab.setAttribute("aria-expanded", "true");
    return load();
  }

  function closeDrawer() {
    closeSheets();
    drawer.hidden = true;
    tab.setAttribute("aria-expanded", "false");
  }

  function closeSheets() {
    for (const sheet of body.querySelectorAll("[data-sheet]")) sheet.hidden = true;
    body.querySelector("[data-shop-list]")?.removeAttribute("hidden");
  }

  async function openSheet(productId) {
    await openDrawer();
    const sheet = body.querySelector(`[data-sheet="${CSS.escape(String(productId))}"]`);
    if (!sheet) return;
    closeSheets();
    body.querySelector("[data-shop-list]").hidden = true;
    sheet.hidden = false;
  }

  function applyStockTo(productId, left) {
    const sheet = body.querySelector(`[data-sheet="${CSS.escape(String(productId))}"]`);
    if (sheet) applyStock(sheet, left);
  }

  tab.addEventListener("click", () => (drawer.hidden ? openDrawer() : closeDrawer()));
  drawer.querySelector("[data-close-drawer]")?.addEventListener("click", closeDrawer);
  // The banner's Shop button opens the pinned product's sheet over the video.
  banner?.querySelector("[data-banner-open]")?.addEventListener("click", (event) => {
    event.preventDefault();
    if (banner.dataset.productId) openSheet(banner.dataset.productId);
    else openDrawer();
  });

  live.on("stock_changed", (event) => {
    stock.set(event.product_id, event.stock_left);
    applyStockTo(event.product_id, event.stock_left);
  });

  // -- flash deals -----------------------------------------------------------------------
  const card = $("[data-deal-card]");
  const buy = card.querySelector("[data-deal-buy]");
  const said = card.querySelector("[data-deal-said]");
  const payForm = card.querySelector("[data-deal-pay]");
  const confirm = card.querySelector("[data-deal-confirm]");
  let current = null; // { deal, key, order, ended }
  let timer = null;

  function markSheetDeal(deal) {
    const line = body.querySelector(`[data-sheet="${CSS.escape(deal.product_id)}"] [data-sheet-deal]`);
    if (!line) return;
    line.hidden = false;
    line.dataset.sheetDeal = deal.deal_id;
    line.textContent = `Deal ${formatPrice(deal.price_minor, deal.currency)} · ends in `;
    const left = document.createElement("span");
    left.dataset.dealCountdown = String(deal.ends_at);
    line.append(left);
  }

  function tick() {
    const now = Date.now();
    for (const span of root.querySelectorAll("[data-deal-countdown]")) {
      span.textContent = remaining(Number(span.dataset.dealCountdown) - now);
    }
    if (!current) return;
    const left = current.deal.ends_at - now;
    card.querySelector("[data-deal-ends]").textContent = remaining(left);
    if (left <= 0 && !current.ended) endDeal("This deal has ended");
  }

  function remaining(ms) {
    if (ms <= 0) return "0:00";
    const seconds = Math.ceil(ms / 1000);
    return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
  }

  function showDeal(deal) {
    deals.set(deal.deal_id, deal);
    markSheetDeal(deal);
    if (current && current.deal.deal_id === deal.deal_id) {
      setLeft(deal.stock_left, deal.stock_left === 0); // announced again (another instance)
      return;
    }
    if (current?.order) return; // a winner still paying keeps their card
    current = { deal, key: newKey(), order: null, ended: false };
    card.dataset.dealId = deal.deal_id;
    card.dataset.productId = deal.product_id;
    card.querySelector("[data-deal-title]").textContent = deal.title;
    card.querySelector("[data-deal-price]").textContent = formatPrice(deal.price_minor, deal.currency);
    setLeft(deal.stock_left, deal.stock_left === 0);
    said.textContent = mayBuy ? "" : $("[data-watch-only]").textContent;
    buy.hidden = !mayBuy;
    buy.disabled = deal.stock_left === 0;
    payForm.hidden = true;
    confirm.hidden = true;
    card.hidden = false;
    clearInterval(timer);
    timer = setInterval(tick, 250);
    tick();
  }

  function setLeft(left, soldOut) {
    card.querySelector("[data-deal-left]").textContent = soldOut ? "Sold out" : `${left} left`;
    card.dataset.soldOut = soldOut ? "1" : "";
    if (soldOut && current && !current.order) {
      buy.disabled = true;
      said.textContent = "Sold out";
    }
  }

  function endDeal(text) {
    if (!current) return;
    current.ended = true;
    if (!current.order) {
      buy.disabled = true;
      said.textContent = text;
    }
  }

  async function tapBuy() {
    if (!current) return;
    if (!signedIn) {
      location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
      return;
    }
    const { deal, key } = current;
    buy.setAttribute("aria-busy", "true");
    try {
      // A second tap while the first is in flight sends the same key: one order, exactly.
      const order = await postJSON(`/deals/${deal.deal_id}/buy`, { idempotency_key: key });
      if (current.deal.deal_id !== deal.deal_id) return;
      current.order = order;
      buy.hidden = true;
      said.textContent = `It's yours: ${order.total_text}. Pay to confirm.`;
      const until = new Date(order.hold_expires_at);
      card.querySelector("[data-deal-hold]").textContent = `Held for you until ${until.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}.`;
      payForm.hidden = false;
    } catch (error) {
      said.textContent = error.message;
      if (error.status === 409 || error.status === 403) buy.disabled = true;
    } finally {
      buy.removeAttribute("aria-busy");
    }
  }

  function paid(outcome) {
    payForm.hidden = true;
    confirm.hidden = true;
    said.textContent = "";
    const link = document.createElement("a");
    link.href = outcome.order_url;
    link.textContent = `order #${outcome.order_id}`;
    said.append(`${outcome.message || "Paid"} — `, link);
    card.dataset.paid = "1";
  }

  payForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!current?.order) return;
    const button = payForm.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const outcome = await postJSON(current.order.pay_url, Object.fromEntries(new FormData(payForm)));
      if (outcome.payment_status === "requires_action") {
        said.textContent = outcome.message;
        payForm.hidden = true;
        confirm.hidden = false;
        confirm.dataset.url = outcome.confirm_url;
      } else {
        paid(outcome);
      }
    } catch (error) {
      said.textContent = error.message;
    } finally {
      button.disabled = false;
    }
  });

  confirm.addEventListener("click", async () => {
    confirm.disabled = true;
    try {
      paid(await postJSON(confirm.dataset.url));
    } catch (error) {
      said.textContent = error.message;
    } finally {
      confirm.disabled = false;
    }
  });

  buy.addEventListener("click", tapBuy);
  card.querySelector("[data-deal-close]").addEventListener("click", () => {
    card.hidden = true;
    if (!current?.order) { current = null; clearInterval(timer); }
  });

  live.on("snapshot", (snapshot) => {
    for (const deal of snapshot.deals || []) showDeal(deal);
  });
  live.on("deal_started", showDeal);
  live.on("deal_updated", (event) => {
    const deal = deals.get(event.deal_id);
    if (deal) deal.stock_left = event.stock_left;
    if (current?.deal.deal_id === event.deal_id) setLeft(event.stock_left, event.sold_out);
  });
  live.on("deal_ended", (event) => {
    deals.delete(event.deal_id);
    const line = body.querySelector(`[data-sheet-deal="${CSS.escape(event.deal_id)}"]`);
    if (line) line.hidden = true;
    if (current?.deal.deal_id === event.deal_id) {
      endDeal(event.reason === "sold_out" ? "Sold out" : "This deal has ended");
    }
  });

  load(); // early: the watch-only state shows before anyone taps
  window.vitrineShop = { openSheet, openDrawer, closeDrawer }; // for the browser tests

}
