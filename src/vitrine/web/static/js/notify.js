// The unread count next to "Notifications" in the nav, for signed-in people.
const bell = document.querySelector("[data-notify-bell]");

async function refresh() {
  if (!bell) return;
  // The bell's badge, and the phone menu's button which hides the bell.
  const badges = document.querySelectorAll("[data-topbar] [data-unread]");
  try {
    const response = await fetch("/notifications/unread", {
      headers: { accept: "application/json" },
      credentials: "same-origin",
    });
    if (!response.ok) return;
    const { unread } = await response.json();
    for (const badge of badges) {
      badge.textContent = unread > 99 ? "99+" : String(unread);
      badge.hidden = unread === 0;
    }
    bell.setAttribute("aria-label", unread ? `Notifications, ${unread} unread` : "Notifications");
    bell.dataset.unreadCount = String(unread);
  } catch {
    // Offline or restarting: the count comes back on the next refresh.
  }
}

refresh();
// Shows go live while people browse: look again every minute and when the tab comes back.
setInterval(refresh, 60_000);
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") refresh();
});
