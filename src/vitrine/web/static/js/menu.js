// On phones the signed-in links fold into a menu next to the cart, so nothing in the top bar
// is cut off. Without this script the links stay one scrollable row.
const topbar = document.querySelector("[data-topbar]");
const toggle = topbar?.querySelector("[data-menu-toggle]");

if (toggle) {
  topbar.classList.add("has-menu");
  toggle.hidden = false;
  const setOpen = (open) => {
    topbar.classList.toggle("open", open);
    toggle.setAttribute("aria-expanded", String(open));
  };
  toggle.addEventListener("click", () => setOpen(!topbar.classList.contains("open")));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") setOpen(false);
  });
  document.addEventListener("click", (event) => {
    if (!topbar.contains(event.target)) setOpen(false);
  });
}
