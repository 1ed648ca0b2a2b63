// Vitrine's video player: an ES module around hls.js (or the browser's own HLS in Safari).
//
//   import { createPlayer } from "/static/js/player.js";
//   const player = createPlayer(document.querySelector(".player"), {
//     src: "/media/hls/12/live.m3u8", live: true,
//   });
//   await player.holdUntil(event.at_ms);   // show a pin when the picture reaches it
//
// Live: autoplays muted (browsers allow only that) with a tap-to-unmute button, a live-edge
// badge ("LIVE" or "Back to live"), and recovers from stalls and network errors. Replay:
// native controls, seeking. `programDateTime()` gives the wall-clock time (ms since epoch) of
// the frame on screen, from the playlist's EXT-X-PROGRAM-DATE-TIME tags.

const HLS_MODULE = "/static/vendor/hls.min.mjs";
const MPEGURL = "application/vnd.apple.mpegurl";

const LIVE_CONFIG = {
  // 1-second segments: stay ~2 s behind the newest one, catch up gently when late.
  liveSyncDuration: 2,
  liveMaxLatencyDuration: 6,
  maxLiveSyncPlaybackRate: 1.1,
  backBufferLength: 30,
  manifestLoadingMaxRetry: 6,
  levelLoadingMaxRetry: 6,
  fragLoadingMaxRetry: 6,
  enableWorker: true,
};
const VOD_CONFIG = { backBufferLength: 90, enableWorker: true };

const LIVE_EDGE_SLACK_S = 3; // behind the live sync point by more than this: not "LIVE"
const STALL_RESEEK_S = 4; // a live stall this long jumps back to the live edge
const RETRY_MS = 2000; // playlist not there yet (stream not started): retry
const MAX_HOLD_MS = 20000; // an event is never held longer than this (paused, offline...)

function el(tag, className, text) {
  const node = document.createElement(tag);
  node.className = className;
  if (text) node.textContent = text;
  return node;
}

/**
 * Create a player in `container` (an element; a <video> is created if none is inside).
 * Options: src (playlist URL), live (bool), autoplay (default true), syncEvents (default
 * true; false makes holdUntil resolve at once), hlsModule (URL of hls.js as an ES module),
 * onState(state) with state in "loading" | "playing" | "waiting" | "offline" | "ended".
 */
export function createPlayer(container, options) {
  const opts = { autoplay: true, syncEvents: true, hlsModule: HLS_MODULE, ...options };
  const video = container.querySelector("video") || container.appendChild(el("video", "player__video"));
  video.playsInline = true;
  video.setAttribute("playsinline", "");
  video.muted = opts.live && opts.autoplay;
  video.controls = !opts.live;
  video.preload = "auto";

  const ui = buildUi(container, video, opts);
  let hls = null;
  let destroyed = false;
  let retryTimer = null;
  let stallTimer = null;
  let fragDate = null; // { pdtMs, start } of the fragment playing, hls.js path
  const waiters = []; // { atMs, resolve }

  function setState(state) {
    container.dataset.state = state;
    if (opts.onState) opts.onState(state);
  }

  function nativeHlsWithDates() {
    // Safari (macOS, iOS): native HLS and getStartDate() for PROGRAM-DATE-TIME.
    return Boolean(video.canPlayType(MPEGURL)) && typeof video.getStartDate === "function";
  }

  async function start() {
    if (!opts.src) {
      setState("offline");
      return;
    }
    setState("loading");
    if (nativeHlsWithDates()) {
      startNative();
      return;
    }
    let Hls = null;
    try {
      Hls = (await import(opts.hlsModule)).default;
    } catch (err) {
      console.warn("vitrine player: hls.js unavailable", err);
    }
    if (Hls && Hls.isSupported()) startHlsJs(Hls);
    else if (video.canPlayType(MPEGURL)) startNative();
    else setState("unsupported");
  }

  function startNative() {
    video.src = opts.src;
    video.addEventListener("error", () => {
      if (destroyed) return;
      setState("offline");
      scheduleRetry(() => {
        video.src = opts.src;
        play();
      });
    });
    play();
  }

  function startHlsJs(Hls) {
    hls = new Hls(opts.live ? LIVE_CONFIG : VOD_CONFIG);
    hls.on(Hls.Events.MANIFEST_PARSED, () => play());
    hls.on(Hls.Events.FRAG_CHANGED, (_event, data) => {
      const frag = data.frag;
      fragDate = frag.programDateTime ? { pdtMs: frag.programDateTime, start: frag.start } : null;
    });
    hls.on(Hls.Events.ERROR, (_event, data) => {
      if (!data.fatal) return;
      if (data.type === Hls.ErrorTypes.NETWORK_ERROR) {
        // A live show not started yet (404) or a network blip: try again shortly.
        setState("offline");
        scheduleRetry(() => {
          hls.loadSource(opts.src);
          hls.startLoad();
        });
      } else if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
        hls.recoverMediaError();
      } else {
        hls.destroy();
        hls = null;
        scheduleRetry(() => startHlsJs(Hls));
      }
    });
    hls.loadSource(opts.src);
    hls.attachMedia(video);
  }

  function scheduleRetry(fn) {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(() => {
      if (!destroyed) fn();
    }, RETRY_MS);
  }

  function play() {
    if (!opts.autoplay) return;
    const p = video.play();
    if (p && p.catch) {
      p.catch(() => {
        // Autoplay with sound refused: retry muted, the unmute button stays visible.
        video.muted = true;
        ui.refresh();
        video.play().catch(() => setState("tap-to-play"));
      });
    }
  }

  function liveEdge() {
    if (hls && hls.liveSyncPosition != null) return hls.liveSyncPosition;
    const r = video.seekable;
    return r.length ? r.end(r.length - 1) - LIVE_CONFIG.liveSyncDuration : null;
  }

  function atLiveEdge() {
    const edge = liveEdge();
    return edge == null || video.currentTime >= edge - LIVE_EDGE_SLACK_S;
  }

  function goLive() {
    const edge = liveEdge();
    if (edge != null) video.currentTime = edge;
    if (video.paused) play();
  }

  /** Wall-clock time (ms since epoch) of the frame on screen, or null when unknown. */
  function programDateTime() {
    if (hls) {
      if (hls.playingDate) return hls.playingDate.getTime();
      if (fragDate) return fragDate.pdtMs + (video.currentTime - fragDate.start) * 1000;
      return null;
    }
    if (typeof video.getStartDate === "function") {
      const startMs = video.getStartDate().getTime();
      if (!Number.isNaN(startMs)) return startMs + video.currentTime * 1000;
    }
    return null;
  }

  /**
   * Resolves when the picture reaches wall-clock time `at` (ms since epoch, a Date or an ISO
   * string): at once if syncing is off or the time is unknown, at the latest after 20 s.
   */
  function holdUntil(at) {
    const atMs = typeof at === "number" ? at : new Date(at).getTime();
    if (!opts.syncEvents || !opts.live || Number.isNaN(atMs)) return Promise.resolve();
    const now = programDateTime();
    if (now != null && now >= atMs) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter = { atMs, resolve };
      waiters.push(waiter);
      setTimeout(() => {
        const i = waiters.indexOf(waiter);
        if (i >= 0) waiters.splice(i, 1);
        resolve();
      }, MAX_HOLD_MS);
    });
  }

  function releaseWaiters() {
    if (!waiters.length) return;
    const now = programDateTime();
    // No date (unknown stream position): do not hold events hostage.
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (now == null || now >= waiters[i].atMs) {
        waiters[i].resolve();
        waiters.splice(i, 1);
      }
    }
  }

  const onTime = () => {
    releaseWaiters();
    if (opts.live) ui.setLive(atLiveEdge());
  };
  const onPlaying = () => {
    clearTimeout(stallTimer);
    setState("playing");
  };
  const onWaiting = () => {
    setState("waiting");
    if (!opts.live) return;
    clearTimeout(stallTimer);
    stallTimer = setTimeout(() => {
      // Still stalled: the buffer is gone, jump to what the server has now.
      if (!destroyed && video.readyState < 3) goLive();
    }, STALL_RESEEK_S * 1000);
  };
  const onEnded = () => setState("ended");
  video.addEventListener("timeupdate", onTime);
  video.addEventListener("playing", onPlaying);
  video.addEventListener("waiting", onWaiting);
  video.addEventListener("ended", onEnded);
  ui.onGoLive(goLive);

  start();

  return {
    video,
    programDateTime,
    holdUntil,
    goLive,
    atLiveEdge,
    get latency() {
      const pdt = programDateTime();
      return pdt == null ? null : (Date.now() - pdt) / 1000;
    },
    destroy() {
      destroyed = true;
      clearTimeout(retryTimer);
      clearTimeout(stallTimer);
      video.removeEventListener("timeupdate", onTime);
      video.removeEventListener("playing", onPlaying);
      video.removeEventListener("waiting", onWaiting);
      video.removeEventListener("ended", onEnded);
      for (const w of waiters.splice(0)) w.resolve();
      if (hls) hls.destroy();
      ui.remove();
    },
  };
}

function buildUi(container, video, opts) {
  const bar = el("div", "player__bar");
  const unmute = el("button", "player__unmute", "Tap to unmute");
  unmute.type = "button";
  unmute.addEventListener("click", () => {
    video.muted = false;
    if (video.paused) video.play().catch(() => {});
    refresh();
  });
  const live = el("button", "player__live", "LIVE");
  live.type = "button";
  live.hidden = !opts.live;
  bar.append(live, unmute);
  container.appendChild(bar);
  // A tap on the picture itself also unmutes (phones: the whole video is the target).
  video.addEventListener("click", () => {
    if (video.muted) unmute.click();
  });
  video.addEventListener("volumechange", refresh);

  function refresh() {
    unmute.hidden = !video.muted;
  }
  refresh();
  return {
    refresh,
    setLive(atEdge) {
      live.classList.toggle("player__live--behind", !atEdge);
      live.textContent = atEdge ? "LIVE" : "Back to live";
      live.disabled = atEdge;
    },
    onGoLive(fn) {
      live.addEventListener("click", fn);
    },
    remove() {
      bar.remove();
    },
  };
}
