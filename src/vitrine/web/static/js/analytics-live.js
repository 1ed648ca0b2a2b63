// Live counters in the studio: polls the show's analytics JSON every few seconds while the
// page is visible and writes each figure into its [data-counter] element.
const box = document.querySelector("[data-analytics-live]");
const PERIOD_MS = 3000;

async function refresh() {
  if (!box || document.hidden) return;
  try {
    const response = await fetch(box.dataset.analyticsLive, {
      headers: { accept: "application/json" },
      credentials: "same-origin",
      cache: "no-store",
    });
    if (!response.ok) return;
    const counters = await response.json();
    for (const cell of box.querySelectorAll("[data-counter]")) {
      const value = counters[cell.dataset.counter];
      if (value !== undefined) {
        cell.textContent = typeof value === "number" ? value.toLocaleString() : String(value);
      }
    }
  } catch {
    // Offline for a moment: the next poll tries again.
  }
}

if (box) {
  refresh();
  setInterval(refresh, PERIOD_MS);
  document.addEventListener("visibilitychange", refresh);
}
