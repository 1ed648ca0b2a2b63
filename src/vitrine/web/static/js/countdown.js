// "Starts in 2 h 05 min" on a show page before the show begins; when the host goes live,
// the live channel says so and the page turns into the live page.
import { LiveClient } from "/static/js/live.js";

const element = document.querySelector("[data-countdown]");
if (element) {
  const due = new Date(element.dataset.countdown).getTime();
  const pad = (n) => String(n).padStart(2, "0");
  const tick = () => {
    const left = Math.max(0, Math.round((due - Date.now()) / 1000));
    const days = Math.floor(left / 86400);
    const hours = Math.floor((left % 86400) / 3600);
    const minutes = Math.floor((left % 3600) / 60);
    const seconds = left % 60;
    element.textContent = left === 0 ? "Starting soon"
      : days > 0 ? `Starts in ${days} d ${hours} h`
      : `Starts in ${hours > 0 ? `${hours} h ` : ""}${pad(minutes)} min ${pad(seconds)} s`;
  };
  tick();
  setInterval(tick, 1000);
}

const waiting = document.querySelector("[data-waiting-show]");
if (waiting) {
  const live = new LiveClient(waiting.dataset.liveUrl);
  live.on("snapshot", (snapshot) => { if (snapshot.show.state === "live") location.reload(); });
  live.on("show_state", (event) => { if (event.state === "live") location.reload(); });
  live.connect();
}
