// The host's studio: live chat with moderation, the question queue, pins, go live / end.
// Chat text is inserted with textContent only.
import { LiveClient } from "/static/js/live.js";
import { createPlayer } from "/static/js/player.js";

const root = document.querySelector("[data-studio]");
if (root) start(root);

function csrfToken() {
  const match = document.cookie.match(/(?:^|; )vitrine_csrf=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

export async function send(url, fields = {}) {
  const body = new URLSearchParams(fields);
  const response = await fetch(url, {
    method: "POST",
    headers: { "x-csrf-token": csrfToken(), accept: "application/json" },
    body,
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.detail || `Refused (${response.status})`);
  return data;
}

function start(root) {
  const showId = root.dataset.showId;
  const $ = (selector) => root.querySelector(selector);
  const chatList = $("[data-chat]");
  const questions = $("[data-questions]");
  const toast = $("[data-toast]");
  const messages = new Map();
  let toastTimer = null;

  function say(text) {
    toast.textContent = text;
    toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { toast.hidden = true; }, 6000);
  }

  createPlayer($("[data-stage]"), { src: root.dataset.hls, live: true, syncEvents: false });
  watchStream();

  // The go-live panel: stream health, what went wrong, the replay when it is ready.
  async function watchStream() {
    const fmt = (value, unit, digits = 0) => (value == null ? "–" : `${Number(value).toFixed(digits)} ${unit}`);
    try {
      const response = await fetch(`/studio/${showId}/stream`, { headers: { accept: "application/json" } });
      if (response.ok) {
        const status = await response.json();
        const health = status.health;
        $("[data-health-state]").textContent = status.publishing
          ? `Receiving ${health?.video_codec ?? "video"}${health?.audio_codec ? ` + ${health.audio_codec}` : ""}`
          : status.open ? "Waiting for your stream…" : status.state === "ended" ? "Show ended" : "Your key works from 2 hours before the start";
        $("[data-health-bitrate]").textContent = fmt(health?.bitrate_kbps, "kbit/s");
        $("[data-health-fps]").textContent = fmt(health?.fps, "fps", 1);
        $("[data-health-keyframes]").textContent = fmt(health?.keyframe_interval_s, "s", 1);
        $("[data-health-dropped]").textContent = health ? `${health.dropped_frames} of ${health.frames}` : "–";
        $("[data-health-picture]").textContent = health?.resolution ?? "–";
        root.dataset.publishing = status.publishing ? "1" : "0";
        const notice = $("[data-notice]");
        notice.hidden = !status.notice;
        if (status.notice) {
          notice.textContent = status.notice.message;
          notice.className = `alert ${status.notice.level === "info" ? "ok" : status.notice.level === "warning" ? "info" : ""}`;
        }
        const list = $("[data-destinations]");
        list.replaceChildren(...Object.entries(health?.destinations ?? {}).map(([name, state]) => {
          const item = document.createElement("li");
          item.textContent = `${name}: ${state}`;
          item.className = state;
          return item;
        }));
        $("[data-replay]").hidden = !status.replay_ready;
      }
    } catch (error) {
      console.warn("stream status", error);
    }
    setTimeout(watchStream, 2000);
  }

  // Every studio form posts in the background and reports what happened.
  for (const form of root.querySelectorAll("form[data-action]")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (form.dataset.confirm && !confirm(form.dataset.confirm)) return;
      try {
        const result = await send(form.action, Object.fromEntries(new FormData(form)));
        if (form.dataset.reset !== undefined) form.reset();
        if (result.state) setState(result.state);
      } catch (error) {
        say(error.message);
      }
    });
  }
  for (const select of root.querySelectorAll("[data-submit-on-change]")) {
    select.addEventListener("change", () => select.form.requestSubmit());
  }

  function setState(state) {
    root.dataset.state = state;
    const badge = $("[data-state-badge]");
    badge.textContent = state;
    badge.className = `badge ${state}`;
    $("[data-testid=go-live]").hidden = state !== "scheduled";
    $("[data-testid=end-show]").hidden = state !== "live";
  }

  function modButton(label, url, fields, confirmText) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "link";
    button.textContent = label;
    button.addEventListener("click", async () => {
      if (confirmText && !confirm(confirmText)) return;
      try { await send(url, fields); } catch (error) { say(error.message); }
    });
    return button;
  }

  function questionItem(message) {
    const item = document.createElement("li");
    item.dataset.messageId = message.message_id;
    const who = document.createElement("strong");
    who.textContent = message.author_name;
    const text = document.createElement("span");
    text.textContent = ` ${message.text} `;
    item.append(who, text, modButton("Mark answered", `/studio/${showId}/messages/${message.message_id}/answered`));
    return item;
  }

  function renderMessage(message) {
    if (messages.has(message.message_id)) return;
    const item = document.createElement("li");
    item.className = "chat-line";
    item.dataset.messageId = message.message_id;
    const who = document.createElement("strong");
    who.textContent = message.author_name;
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = ` ${message.text} `;
    const tools = document.createElement("span");
    tools.className = "mod-tools";
    tools.append(
      modButton("Remove", `/studio/${showId}/messages/${message.message_id}/remove`),
      " · ",
      modButton("Time out 5 min", `/studio/${showId}/users/${message.author_id}/timeout`, { minutes: "5" }),
      " · ",
      modButton("Ban", `/studio/${showId}/users/${message.author_id}/ban`, {}, `Ban ${message.author_name} from all your shows?`),
    );
    item.append(who, text, tools);
    item.classList.toggle("question", Boolean(message.is_question));
    chatList.append(item);
    messages.set(message.message_id, { item, message });
    chatList.scrollTop = chatList.scrollHeight;
  }

  function addQuestion(id) {
    const entry = messages.get(id);
    if (!entry || questions.querySelector(`[data-message-id="${id}"]`)) return;
    entry.item.classList.add("question");
    questions.append(questionItem(entry.message));
  }

  // Server-rendered questions get their button too.
  for (const item of questions.querySelectorAll("li[data-message-id]")) {
    item.append(" ", modButton("Mark answered", `/studio/${showId}/messages/${item.dataset.messageId}/answered`));
  }

  const live = new LiveClient(root.dataset.liveUrl);
  live.on("snapshot", (snapshot) => {
    chatList.replaceChildren();
    messages.clear();
    for (const message of snapshot.chat) renderMessage(message);
    for (const id of snapshot.open_questions) addQuestion(id);
    $("[data-viewers]").textContent = String(snapshot.viewer_count);
    setState(snapshot.show.state === "paused" ? "live" : snapshot.show.state);
    markPinned(snapshot.pinned?.product_id);
    for (const deal of snapshot.deals) showDeal(deal);
  });
  live.on("chat_message", (message) => {
    renderMessage(message);
    if (message.is_question) addQuestion(message.message_id);
  });
  live.on("message_removed", (event) => {
    messages.get(event.message_id)?.item.remove();
    messages.delete(event.message_id);
    questions.querySelector(`[data-message-id="${event.message_id}"]`)?.remove();
  });
  live.on("question_marked", (event) => addQuestion(event.message_id));
  live.on("question_answered", (event) => {
    questions.querySelector(`[data-message-id="${event.message_id}"]`)?.remove();
    messages.get(event.message_id)?.item.classList.add("answered");
  });
  live.on("viewer_count", (event) => { $("[data-viewers]").textContent = String(event.count); });
  live.on("product_pinned", (event) => markPinned(event.product_id));
  live.on("product_unpinned", () => markPinned(null));
  live.on("show_state", (event) => setState(event.state === "paused" ? "live" : event.state));
  // Deals: what is left and the countdown, live; the host can end one early.
  const deals = $("[data-deals]");
  const dealItems = new Map();
  function showDeal(deal) {
    let item = dealItems.get(deal.deal_id);
    if (!item) {
      item = document.createElement("li");
      item.dataset.dealId = deal.deal_id;
      const text = document.createElement("span");
      text.className = "deal-text";
      item.append(text, " ", modButton("End now", `/studio/${showId}/deals/${deal.deal_id}/end`));
      deals.prepend(item);
      dealItems.set(deal.deal_id, item);
      item.dataset.title = deal.title;
      item.dataset.endsAt = deal.ends_at;
    }
    item.dataset.left = deal.stock_left;
    const seconds = Math.max(0, Math.round((Number(item.dataset.endsAt) - Date.now()) / 1000));
    item.querySelector(".deal-text").textContent = `${item.dataset.title}: ${item.dataset.left} left · ${seconds} s`;
  }
  setInterval(() => { for (const item of dealItems.values()) if (!item.classList.contains("ended")) showDeal({ deal_id: item.dataset.dealId, stock_left: item.dataset.left }); }, 1000);
  live.on("deal_started", showDeal);
  live.on("deal_updated", (event) => { if (dealItems.has(event.deal_id)) showDeal(event); });
  live.on("deal_ended", (event) => {
    const item = dealItems.get(event.deal_id);
    if (!item) return;
    item.classList.add("ended");
    item.querySelector(".deal-text").textContent = `${item.dataset.title}: ${event.reason === "sold_out" ? "sold out" : "ended"}`;
    item.querySelector("button")?.remove();
  });
  live.on("user_timed_out", () => say("Timed out for 5 minutes."));
  live.on("user_banned", () => say("Banned from your shows' chats."));
  live.on("error", (event) => say(event.message));

  function markPinned(productId) {
    for (const button of root.querySelectorAll("[data-pin]")) {
      const pinned = button.dataset.pin === productId;
      button.textContent = pinned ? "Pinned" : "Pin";
      button.classList.toggle("secondary", pinned);
    }
  }
  live.connect();
  window.vitrineLive = live;
}
