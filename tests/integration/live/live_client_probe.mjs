// Drives src/vitrine/web/static/js/live.js from Node (22+, or 20 with --experimental-websocket)
// for test_live_js_client.py: prints every event and status change as one JSON line, and exits
// once it has seen the product named in argv[3].
import { LiveClient } from "../../../src/vitrine/web/static/js/live.js";

const [url, lastProduct] = process.argv.slice(2);
const live = new LiveClient(url);
const say = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);
live.onstatus = (status) => say({ status });
live.on("*", (event) => {
  say({ type: event.type, seq: event.seq ?? null, product_id: event.product_id ?? null, resumed: event.resumed ?? null });
  if (event.type === "product_pinned" && event.product_id === lastProduct) {
    live.close();
    process.exit(0);
  }
});
live.connect();
setTimeout(() => process.exit(3), 30000);
