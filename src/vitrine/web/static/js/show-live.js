// The live page: video, shop banner, chat overlay, questions, reactions and viewer count.
// Every text from the chat is inserted with textContent: no message is ever read as HTML.
import { LiveClient } from "/static/js/live.js";
import { createPlayer } from "/static/js/player.js";
import { startShop } from "/static/js/shop.js";

const root = document.querySelector("[data-live-show]");
if (root) start(root);

function start(root) {
  const $ = (selector) => root.querySelector(selector);
  const signedIn = root.dataset.signedIn === "1";
  const myId = root.dataset.userId || null;
  const chatList = $("[data-chat]");
  const banner = $("[data-banner]");
  const viewers = $("[data-viewers]");
  const status = $("[data-status]");
  const toast = $("[data-toast]");
  const form = $("[data-chat-form]");
  const input = $("[data-chat-input]");
  const stage = $("[data-stage]");
  const messages = new Map(); // message_id → <li>, so nothing is shown twice
  let toastTimer = null;

  const player = stage && root.dataset.hls
    ? createPlayer(stage, {
        src: root.dataset.hls,
        live: root.dataset.state === "live",
        syncEvents: root.dataset.sync === "1",
      })
    : null;

  // A landscape stream is shown whole on a phone; a vertical one fills the screen.
  player?.video.addEventListener("loadedmetadata", () => {
    const { videoWidth: w, videoHeight: h } = player.video;
    stage.dataset.orientation = w > h ? "landscape" : "portrait";
  });

  const live = new LiveClient(root.dataset.liveUrl);
  live.onstatus = (value) => {
    status.textContent = { live: "", connecting: "Connecting…", reconnecting: "Reconnecting…", refused: "Live chat unavailable" }[value] ?? "";
    root.dataset.channel = value;
  };

  function say(text) {
    toast.textContent = text;
    toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { toast.hidden = true; }, 5000);
  }

  function formatPrice(minor, currency) {
    const digits = new Intl.NumberFormat(undefined, { style: "currency", currency }).resolvedOptions().maximumFractionDigits;
    return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(minor / 10 ** digits);
  }

  function renderMessage(message) {
    if (messages.has(message.message_id)) {
      messages.get(message.message_id).classList.toggle("question", message.is_question);
      return;
    }
    const item = document.createElement("li");
    item.className = "chat-line";
    item.dataset.messageId = message.message_id;
    item.dataset.authorId = message.author_id;
    const author = document.createElement("strong");
    author.className = "author";
    author.textContent = message.author_name;
    for (const badge of message.badges || []) {
      const tag = document.createElement("span");
      tag.className = `chat-badge ${badge}`;
      tag.textContent = badge;
      author.append(" ", tag);
    }
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = message.text;
    const question = document.createElement("span");
    question.className = "question-badge";
    question.textContent = "Question";
    item.append(author, " ", text, " ", question);
    item.classList.toggle("question", Boolean(message.is_question));
    if (signedIn && message.author_id === myId && !message.is_question) {
      const ask = document.createElement("button");
      ask.type = "button";
      ask.className = "link ask-later";
      ask.textContent = "Ask as question";
      ask.addEventListener("click", () => live.markQuestion(message.message_id).then(() => ask.remove(), (e) => say(e.message)));
      item.append(" ", ask);
    }
    chatList.append(item);
    messages.set(message.message_id, item);
    while (chatList.children.length > 200) {
      const first = chatList.firstElementChild;
      messages.delete(first.dataset.messageId);
      first.remove();
    }
    chatList.scrollTop = chatList.scrollHeight;
  }

  function showBanner(pin) {
    if (!pin) {
      banner.hidden = true;
      banner.dataset.productId = "";
      return;
    }
    banner.dataset.productId = pin.product_id;
    banner.querySelector("[data-banner-title]").textContent = pin.title;
    banner.querySelector("[data-banner-price]").textContent = formatPrice(pin.price_minor, pin.currency);
    const image = banner.querySelector("img");
    if (pin.image_url) { image.src = pin.image_url; image.hidden = false; } else { image.hidden = true; }
    banner.hidden = false;
  }

  async function inStep(at) {
    if (player && at) await player.holdUntil(at);
  }

  live.on("snapshot", (snapshot) => {
    chatList.replaceChildren();
    messages.clear();
    for (const message of snapshot.chat) renderMessage(message);
    for (const id of snapshot.open_questions) messages.get(id)?.classList.add("question");
    showBanner(snapshot.pinned);
    viewers.textContent = String(snapshot.viewer_count);
    root.dataset.state = snapshot.show.state;
  });
  live.on("chat_message", renderMessage);
  live.on("message_removed", (event) => {
    messages.get(event.message_id)?.remove();
    messages.delete(event.message_id);
  });
  live.on("question_marked", (event) => messages.get(event.message_id)?.classList.add("question"));
  live.on("question_answered", (event) => {
    const item = messages.get(event.message_id);
    if (item) { item.classList.add("answered"); item.scrollIntoView({ block: "nearest" }); }
  });
  live.on("product_pinned", async (event) => { await inStep(event.at); showBanner(event); });
  live.on("product_unpinned", async (event) => {
    await inStep(event.at);
    if (banner.dataset.productId === event.product_id) showBanner(null);
  });
  live.on("viewer_count", (event) => { viewers.textContent = String(event.count); });
  live.on("announcement", (event) => say(event.text));
  live.on("reactions", (event) => {
    for (const [emoji, count] of Object.entries(event.counts)) {
      for (let i = 0; i < Math.min(count, 8); i++) floatReaction(emoji);
    }
  });
  live.on("show_state", (event) => {
    root.dataset.state = event.state;
    if (event.state === "ended") say("The show has ended. Thanks for watching!");
  });
  live.on("user_banned", (event) => { if (event.user_id === myId) say("You can no longer post in this brand's chats."); });
  live.on("error", (event) => say(event.message));

  function floatReaction(emoji) {
    const bubble = document.createElement("span");
    bubble.className = "reaction-float";
    bubble.textContent = emoji;
    bubble.style.setProperty("--drift", `${Math.round(Math.random() * 40 - 20)}px`);
    root.querySelector("[data-reactions]").append(bubble);
    setTimeout(() => bubble.remove(), 2000);
  }

  form?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    try {
      await live.post(text);
    } catch (error) {
      input.value = text;
      say(error.message || "Your message was not sent");
    }
  });
  for (const button of root.querySelectorAll("[data-react]")) {
    button.addEventListener("click", () => { live.react(button.dataset.react); floatReaction(button.dataset.react); });
  }
  startShop(root, live, { say, formatPrice });
  live.connect();
  window.vitrineLive = live; // for the browser tests and the curious
}
