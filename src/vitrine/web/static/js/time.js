// Times come from the server in UTC; show them in the viewer's own zone.
const format = new Intl.DateTimeFormat(undefined, {
  weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
});
for (const element of document.querySelectorAll("time[data-local]")) {
  const moment = new Date(element.getAttribute("datetime"));
  if (!Number.isNaN(moment.getTime())) {
    element.textContent = format.format(moment);
    element.title = moment.toISOString();
  }
}
