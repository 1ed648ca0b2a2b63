// The CSV import page: poll the job while it runs, move the progress bar, reload at the end.
const box = document.querySelector("[data-import-job]");
if (box) {
  const bar = box.querySelector("progress");
  const label = box.querySelector("[data-import-label]");
  const poll = async () => {
    try {
      const response = await fetch(box.dataset.statusUrl, { headers: { accept: "application/json" } });
      if (response.ok) {
        const job = await response.json();
        if (job.status !== "running") {
          window.location.reload();
          return;
        }
        bar.max = job.total_rows;
        bar.value = job.checked_rows;
        bar.textContent = `${job.percent} %`;
        label.textContent = job.saving
          ? "Saving…"
          : `Checking rows: ${job.checked_rows.toLocaleString()} of ${job.total_rows.toLocaleString()}`;
      }
    } catch (error) {
      // a dropped request: try again on the next tick
    }
    window.setTimeout(poll, 500);
  };
  window.setTimeout(poll, 300);
}
