// The try-it page: profiles, uploads (API PUT or presigned POST), thumbnails, delete. No build.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { config: null, profile: null, tokens: {}, watch: 0, crop: null };
const POLL_MS = 500;
const WATCH_MS = 60000;
const AVATAR_BOX = 256; // CSS pixels: the avatar's box in style.css
const SOURCE_FORMATS = ["avif", "webp"]; // the <picture>'s order: smallest files first
const USER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

// Direct uploads are checked after they land, and report only a code: these are its words.
const PLAIN = {
  unsupported_media_type: "The file is not an accepted image format.",
  file_too_large: "The file is larger than allowed.",
  empty_file: "The file is empty.",
  image_corrupt: "The image is damaged or incomplete: it could not be decoded.",
  image_truncated: "The file is shorter than the image it declares: it is cut short or damaged.",
  image_too_large: "The image has too many pixels or frames.",
  image_too_complex: "The image takes too much work to process.",
  image_too_small: "The image is smaller than allowed.",
  invalid_crop: "The crop is not a square inside the picture.",
  processing_timeout: "Making the thumbnails took too long.",
};

class Problem extends Error {
  constructor(status, body) {
    super(explain(status, body));
    this.status = status;
    this.body = body;
    this.code = body?.code;
  }
}

function explain(status, body) {
  if (!body || typeof body !== "object") return `The server answered ${status}.`;
  let words = body.detail || body.title || PLAIN[body.code] || `The server answered ${status}.`;
  if (Array.isArray(body.errors) && body.errors.length) {
    const fields = body.errors.map((e) => `${e.loc.filter((p) => p !== "body").join(".")}: ${e.msg}`);
    words += ` (${fields.join("; ")})`;
  }
  return words;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const userPath = (id) => `/users/${encodeURIComponent(id)}`;

function mib(bytes) {
  const value = bytes / (1024 * 1024);
  return `${Number.isInteger(value) ? value : value.toFixed(1)} MiB`;
}

// Success and progress go to a polite status region, errors to an alert: never both at once.
function status(text) {
  $("error").replaceChildren();
  $("message").textContent = text;
}

function fail(text) {
  $("message").textContent = "";
  $("error").textContent = text;
}

function profileError(text, ...nodes) {
  const box = $("profile-error");
  box.replaceChildren();
  if (!text) return;
  const words = document.createElement("p");
  words.textContent = text;
  box.append(words, ...nodes);
}

function parse(text) {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

async function tokenFor(userId) {
  if (!state.config.dev_tokens) return $("token").value.trim();
  if (!state.tokens[userId]) {
    const response = await fetch(`/_dev/token/${encodeURIComponent(userId)}`);
    const body = parse(await response.text());
    if (!response.ok) throw new Problem(response.status, body);
    state.tokens[userId] = body.token;
  }
  $("token").value = state.tokens[userId];
  return state.tokens[userId];
}

// fresh: what was last written, not a profile an instance read a moment ago (after our own
// writes: a re-crop keeps the picture's id, so a copy from before it looks current).
async function api(method, path, { json, asUser, fresh } = {}) {
  const headers = {};
  if (asUser) headers.Authorization = `Bearer ${await tokenFor(asUser)}`;
  if (fresh) headers["Cache-Control"] = "no-cache";
  if (json !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  const body = parse(await response.text());
  if (!response.ok) throw new Problem(response.status, body);
  return body;
}

// XMLHttpRequest rather than fetch: only it reports upload progress. Once the last byte is
// sent, the bar goes and the status says the server is at work, until it answers.
function send(method, url, body, headers, waiting) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) $("progress").value = (100 * event.loaded) / event.total;
    };
    xhr.upload.onload = () => {
      $("progress").hidden = true;
      status(waiting);
    };
    xhr.onload = () => resolve({ status: xhr.status, text: xhr.responseText });
    xhr.onerror = () => reject(new Error("The upload could not reach the server."));
    xhr.send(body);
  });
}

// Browsers name HEIC and AVIF inconsistently (or not at all, on systems without the codec).
const TYPE_ALIASES = {
  "image/heif": "image/heic",
  "image/heic-sequence": "image/heic",
  "image/heif-sequence": "image/heic",
  "image/avif-sequence": "image/avif",
};
const TYPE_BY_EXTENSION = { heic: "image/heic", heif: "image/heic", avif: "image/avif" };

function typeOf(file) {
  const extension = file.name.split(".").pop().toLowerCase();
  return TYPE_ALIASES[file.type] || file.type || TYPE_BY_EXTENSION[extension] || "";
}

function precheck(file) {
  const { allowed_types: types, allowed_formats: formats, max_bytes: max } = state.config;
  if (!file) return "Choose a picture first.";
  if (!types.includes(typeOf(file))) {
    const names = formats.map((f) => f.toUpperCase()).join(", ");
    return `"${file.name}" is not a supported picture type. Choose ${names}.`;
  }
  if (file.size === 0) return "The file is empty.";
  if (file.size > max) return `The file is ${mib(file.size)}; the limit is ${mib(max)}.`;
  return null;
}

async function uploadThroughApi(userId, file, crop) {
  $("route").textContent = "Sending through the API (PUT /users/{id}/picture) …";
  const token = await tokenFor(userId);
  const query = crop ? `?crop=${crop.x},${crop.y},${crop.w},${crop.h}` : "";
  const reply = await send(
    "PUT",
    `${userPath(userId)}/picture${query}`,
    file,
    { "Content-Type": typeOf(file), Authorization: `Bearer ${token}` },
    "Sent. The server is checking and cleaning the picture …",
  );
  if (reply.status >= 400) throw new Problem(reply.status, parse(reply.text));
}

async function uploadDirect(userId, file, crop) {
  $("route").textContent = "Sending straight to the store (presigned POST) …";
  const declared = { content_type: typeOf(file), size: file.size };
  if (crop) declared.crop = crop;
  const policy = await api("POST", `${userPath(userId)}/picture/uploads`, {
    json: declared,
    asUser: userId,
  });
  const form = new FormData();
  for (const [name, value] of Object.entries(policy.fields)) form.append(name, value);
  form.append("file", file); // the store ignores fields after the file
  const reply = await send("POST", policy.url, form, {}, "Sent. The store is saving the file …");
  if (reply.status >= 300) {
    const xml = new DOMParser().parseFromString(reply.text, "application/xml");
    const reason = xml.querySelector("Message")?.textContent || `status ${reply.status}`;
    throw new Error(`The store refused the upload: ${reason}`);
  }
  status("Stored. The server is checking and cleaning the picture …");
  // pending until its event comes, processing while one delivery of it holds the claim
  const ended = (p) => p.upload?.key === policy.key && ["done", "failed"].includes(p.upload.state);
  const done = await watch(ended);
  if (done?.upload.state === "failed") {
    throw new Problem(422, { code: done.upload.error_code, detail: PLAIN[done.upload.error_code] });
  }
}

async function upload(event) {
  event.preventDefault();
  const file = $("file").files[0];
  const refused = precheck(file);
  if (refused) {
    $("file").setAttribute("aria-invalid", "true");
    $("file").focus();
    return fail(refused);
  }
  $("file").removeAttribute("aria-invalid");
  const userId = state.profile.user_id;
  $("upload").disabled = true;
  $("progress").hidden = false;
  $("progress").value = 0;
  status(`Sending ${file.name} …`);
  const crop = state.crop?.mode === "upload" ? cropOf(state.crop) : null;
  try {
    if (file.size > state.config.direct_upload_above) await uploadDirect(userId, file, crop);
    else await uploadThroughApi(userId, file, crop);
    closeCropper();
    status("Uploaded. Making the thumbnails …");
    const settled = await watch((p) => !p.picture || p.picture.status !== "processing");
    if (settled?.picture?.status === "ready") status("Uploaded; the thumbnails are ready.");
    if (settled?.picture?.status === "failed") fail(PLAIN[settled.picture.error] || "The thumbnails failed.");
  } catch (error) {
    fail(error.message);
    await refresh();
  } finally {
    $("route").textContent = $("route").textContent.replace("Sending", "Sent").replace(" …", ".");
    $("upload").disabled = false;
    $("progress").hidden = true;
  }
}

async function remove() {
  const userId = state.profile.user_id;
  try {
    await api("DELETE", `${userPath(userId)}/picture`, { asUser: userId });
    await refresh();
    status("Picture deleted: the generated default shows instead.");
  } catch (error) {
    fail(error.message);
  }
}

async function refresh() {
  render(await api("GET", userPath(state.profile.user_id), { fresh: true }));
}

// Polls the profile until `until` holds for it; a newer watch ends an older one.
async function watch(until) {
  const mine = ++state.watch;
  const deadline = Date.now() + WATCH_MS;
  while (mine === state.watch && Date.now() < deadline) {
    const profile = await api("GET", userPath(state.profile.user_id), { fresh: true });
    render(profile);
    if (until(profile)) return profile;
    await sleep(POLL_MS);
  }
  return null;
}

// The smallest size that still fills the avatar's box on this screen, never the original.
function avatarSize() {
  const needed = AVATAR_BOX * (window.devicePixelRatio || 1);
  const sizes = [...state.config.thumbnail_sizes].sort((a, b) => a - b);
  return sizes.find((size) => size >= needed) || sizes[sizes.length - 1];
}

// A re-crop keeps the picture's id: its square tells the variants' sets apart.
function cropKey(picture) {
  const crop = picture?.crop;
  return crop ? `${crop.x},${crop.y},${crop.w},${crop.h}` : "";
}

function render(profile) {
  state.profile = profile;
  const picture = profile.picture;
  const name = profile.display_name;
  $("picture-section").hidden = false;
  $("who").textContent = `${name} (${profile.user_id})`;
  // The redirect URL, as an <img src> would use it. v= changes with the picture and its
  // status, so the thumbnail replaces the original once it is ready.
  const version = picture
    ? `${picture.id}-${picture.status}-${cropKey(picture)}`
    : `default-${profile.updated_at}`;
  const query = `size=${avatarSize()}&redirect=true&v=${encodeURIComponent(version)}`;
  const src = `${userPath(profile.user_id)}/picture?${query}`;
  renderSources(picture); // first, so a ready picture never loads the <img>'s own src
  if ($("avatar").getAttribute("src") !== src) $("avatar").src = src;
  $("avatar").alt = picture ? `Profile picture of ${name}` : `${name}'s initials (no picture yet)`;
  $("avatar").dataset.state = picture ? picture.status : "default";
  const caption = picture
    ? `${picture.format.toUpperCase()} ${picture.width}×${picture.height}, ${picture.status}`
    : "no picture: the generated default";
  if ($("avatar-caption").dataset.base !== caption) {
    $("avatar-caption").dataset.base = caption;
    $("avatar-caption").textContent = caption;
  }
  $("delete").disabled = !picture;
  $("adjust-crop").disabled = picture?.status !== "ready";
  paintPlaceholder($("avatar"), picture?.placeholder);
  renderThumbnails(picture, name);
}

// ThumbHash, decoded by the reference (npm thumbhash, served by the local stack), painted
// behind the image: it shows until the image has loaded over it.
let thumbhash = null;

async function paintPlaceholder(element, hash) {
  if (element.dataset.placeholder === (hash || "")) return;
  element.dataset.placeholder = hash || "";
  element.style.backgroundImage = "";
  if (!hash) return;
  try {
    thumbhash ||= await import("/vendor/thumbhash.js");
    const bytes = Uint8Array.from(atob(hash), (c) => c.charCodeAt(0));
    const url = thumbhash.thumbHashToDataURL(bytes);
    // renderSources may have put a fresh copy of the avatar in its place meanwhile.
    const target = element.isConnected || !element.id ? element : $(element.id);
    if (target.dataset.placeholder === hash) {
      target.style.backgroundImage = `url("${url}")`;
      target.style.backgroundSize = "cover";
    }
  } catch {
    // No placeholder is no loss: the plain background stays until the image loads.
  }
}

// Once the variants are ready, the <picture> offers every stored size in AVIF, then WebP,
// straight from the profile's `sources` map: the browser takes the first format it shows and
// the size its screen needs for the box, with no call to the API. Until then (and in browsers
// without AVIF or WebP) the <img> asks the API, which serves the original, or a variant in the
// format its Accept prefers. Signed URLs change with every read, so the sources change only
// with the picture.
function renderSources(picture) {
  const ready = picture?.status === "ready" && picture.sources;
  const key = ready ? `${picture.id}:${cropKey(picture)}` : "none";
  const box = $("avatar-picture");
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  for (const old of box.querySelectorAll("source")) old.remove();
  // A fresh <img>: Chromium keeps the density of a source it chose from a srcset after the
  // sources go, and showed the 256 px default at 128 CSS px.
  $("avatar").replaceWith($("avatar").cloneNode(false));
  if (!ready) return;
  for (const format of SOURCE_FORMATS) {
    const bySize = picture.sources[format];
    if (!bySize) continue;
    const source = document.createElement("source");
    source.type = `image/${format}`;
    source.sizes = `${AVATAR_BOX}px`;
    source.srcset = Object.entries(bySize)
      .map(([size, url]) => `${url} ${size}w`)
      .join(", ");
    $("avatar").before(source);
  }
}

// What the avatar shows: the format and size the browser chose, once it has loaded.
function describeShown() {
  const img = $("avatar");
  const path = img.currentSrc.split("?")[0];
  const format = path.includes("/thumbnails/") ? path.split(".").pop().toUpperCase() : null;
  img.dataset.shown = format ? `${format} ${img.naturalWidth}` : "";
  const caption = $("avatar-caption");
  const base = caption.dataset.base || caption.textContent;
  caption.textContent = format ? `${base}; shown as ${format} ${img.naturalWidth} px` : base;
}

function renderThumbnails(picture, name) {
  const box = $("thumbnails");
  const ready = picture?.status === "ready";
  $("thumbs-status").textContent = !picture
    ? "No picture, so no thumbnails."
    : ready
      ? "Ready, straight from the store by signed URL."
      : picture.status === "failed"
        ? "The thumbnails could not be made."
        : "Being made …";
  const key = picture ? `${picture.id}:${picture.status}:${cropKey(picture)}` : "none";
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  box.replaceChildren();
  if (!picture || picture.status === "failed") return;
  for (const size of state.config.thumbnail_sizes) {
    const shown = Math.min(size, 160);
    const figure = document.createElement("figure");
    let item;
    if (ready && picture.variants[size]) {
      item = document.createElement("img");
      item.src = picture.variants[size];
      item.alt = `${name}, ${size} px thumbnail`;
      item.className = "thumbnail";
      item.dataset.size = size;
      paintPlaceholder(item, picture.placeholder);
    } else {
      item = document.createElement("div");
      item.className = "placeholder";
      item.textContent = "…";
    }
    item.style.width = item.style.height = `${shown}px`;
    const caption = document.createElement("figcaption");
    caption.textContent = `${size} px`;
    figure.append(item, caption);
    box.append(figure);
  }
}

// The crop box: a square over the picture, in the picture's own (upright) pixels, shown at
// the stage's scale. Dragged with a pointer, moved with the arrow keys, zoomed by the slider
// or + and -; the round preview shows what the avatar will.
const STAGE = 320; // CSS pixels: the longer side of the picture in the crop box
const MAX_ZOOM = 8;

function defaultCrop(width, height) {
  // As the server chooses: the largest square, a portrait's a tenth of the way down.
  const side = Math.min(width, height);
  const top = height > width ? Math.round((height - side) * 0.1) : 0;
  return { x: Math.floor((width - side) / 2), y: top, side };
}

function cropOf(crop) {
  return { x: crop.x, y: crop.y, w: crop.side, h: crop.side };
}

function openCropper(src, width, height, initial, mode) {
  const scale = Math.min(STAGE / width, STAGE / height);
  const start = initial ? { x: initial.x, y: initial.y, side: initial.w } : defaultCrop(width, height);
  // The zoom is kept here: the slider rounds what it holds to its step.
  state.crop = { mode, width, height, scale, zoom: Math.min(width, height) / start.side, ...start };
  const stage = $("crop-stage");
  stage.style.width = `${Math.round(width * scale)}px`;
  stage.style.height = `${Math.round(height * scale)}px`;
  $("crop-image").src = src;
  $("crop-preview").style.backgroundImage = `url("${src}")`;
  $("crop-zoom").value = String(state.crop.zoom);
  $("recrop-buttons").hidden = mode !== "adjust";
  $("cropper").hidden = false;
  $("crop-note").hidden = true;
  drawCrop();
}

function closeCropper() {
  state.crop = null;
  $("cropper").hidden = true;
  $("crop-image").removeAttribute("src");
}

function clampCrop(crop) {
  const least = Math.min(crop.width, crop.height);
  crop.side = Math.round(Math.max(Math.min(crop.side, least), Math.max(1, least / MAX_ZOOM)));
  crop.x = Math.round(Math.max(0, Math.min(crop.x, crop.width - crop.side)));
  crop.y = Math.round(Math.max(0, Math.min(crop.y, crop.height - crop.side)));
}

function drawCrop() {
  const crop = state.crop;
  clampCrop(crop);
  const box = $("crop-box");
  box.style.left = `${crop.x * crop.scale}px`;
  box.style.top = `${crop.y * crop.scale}px`;
  box.style.width = box.style.height = `${crop.side * crop.scale}px`;
  const preview = 96 / crop.side; // the preview's CSS pixels per picture pixel
  const shown = $("crop-preview").style;
  shown.backgroundSize = `${crop.width * preview}px ${crop.height * preview}px`;
  shown.backgroundPosition = `${-crop.x * preview}px ${-crop.y * preview}px`;
  $("crop-readout").textContent =
    `Square ${crop.side}×${crop.side} at (${crop.x}, ${crop.y}) of the ${crop.width}×${crop.height} picture.`;
}

function zoomCrop(zoom) {
  const crop = state.crop;
  const middle = { x: crop.x + crop.side / 2, y: crop.y + crop.side / 2 };
  const z = Math.max(1, Math.min(MAX_ZOOM, zoom));
  crop.zoom = z;
  crop.side = Math.min(crop.width, crop.height) / z;
  crop.x = middle.x - crop.side / 2;
  crop.y = middle.y - crop.side / 2;
  $("crop-zoom").value = String(z);
  drawCrop();
}

function cropKeys(event) {
  const crop = state.crop;
  if (!crop) return;
  const step = Math.max(1, Math.round(Math.min(crop.width, crop.height) / (event.shiftKey ? 10 : 100)));
  const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
  const zoom = crop.zoom;
  if (moves[event.key]) {
    crop.x += moves[event.key][0];
    crop.y += moves[event.key][1];
    drawCrop();
  } else if (event.key === "+" || event.key === "=") zoomCrop(zoom * 1.1);
  else if (event.key === "-") zoomCrop(zoom / 1.1);
  else return;
  event.preventDefault();
}

function cropDrag(event) {
  const crop = state.crop;
  if (!crop || event.button !== 0) return;
  const box = $("crop-box");
  box.setPointerCapture(event.pointerId);
  box.focus();
  const from = { px: event.clientX, py: event.clientY, x: crop.x, y: crop.y };
  const move = (e) => {
    crop.x = from.x + (e.clientX - from.px) / crop.scale;
    crop.y = from.y + (e.clientY - from.py) / crop.scale;
    drawCrop();
  };
  const stop = () => {
    box.removeEventListener("pointermove", move);
    box.removeEventListener("pointerup", stop);
    box.removeEventListener("pointercancel", stop);
  };
  box.addEventListener("pointermove", move);
  box.addEventListener("pointerup", stop);
  box.addEventListener("pointercancel", stop);
  event.preventDefault();
}

// A chosen file shows in the crop box if this browser can decode it (not HEIC, mostly): the
// server otherwise chooses the square, and "Adjust crop" changes it afterwards.
function chosen() {
  closeCropper();
  const file = $("file").files[0];
  if (!file || precheck(file)) return;
  const url = URL.createObjectURL(file);
  const probe = new Image();
  probe.onload = () => {
    if ($("file").files[0] === file) {
      openCropper(url, probe.naturalWidth, probe.naturalHeight, null, "upload");
    }
  };
  probe.onerror = () => {
    URL.revokeObjectURL(url);
    $("crop-note").hidden = false;
    $("crop-note").textContent =
      "This browser can't show this picture, so the server will choose its square: " +
      "use Adjust crop once it is uploaded.";
  };
  probe.src = url;
}

function adjust() {
  const picture = state.profile?.picture;
  if (!picture) return;
  status("");
  openCropper(picture.url, picture.width, picture.height, picture.crop, "adjust");
  $("crop-box").focus();
}

async function saveCrop() {
  const userId = state.profile.user_id;
  const crop = cropOf(state.crop);
  $("save-crop").disabled = true;
  status("Saving the crop: making the new thumbnails …");
  try {
    const picture = await api("PATCH", `${userPath(userId)}/picture`, {
      json: { crop },
      asUser: userId,
    });
    closeCropper();
    render({ ...state.profile, picture }); // the answer is exact; a read may be a moment old
    status("Crop saved; the thumbnails show the new square.");
  } catch (error) {
    fail(error.message);
  } finally {
    $("save-crop").disabled = false;
  }
}

// The form shows the opened profile; its e-mail is private, so it comes from GET /me.
async function fillForm(profile) {
  $("user-id").value = profile.user_id;
  $("display-name").value = profile.display_name;
  $("email").value = "";
  if (!state.config.dev_tokens && !$("token").value.trim()) return;
  try {
    const whole = await api("GET", "/me", { asUser: profile.user_id });
    if (whole.user_id === profile.user_id) $("email").value = whole.email;
  } catch {
    // A pasted token for someone else: the e-mail simply stays private.
  }
}

async function open(userId) {
  status("");
  profileError("");
  if (!userId) return invalid("user-id", "Enter the user id of the profile to open.");
  try {
    state.watch++;
    const profile = await api("GET", userPath(userId));
    render(profile);
    await fillForm(profile);
  } catch (error) {
    $("picture-section").hidden = true;
    profileError(error.message);
  }
}

function invalid(field, text) {
  $(field).setAttribute("aria-invalid", "true");
  $(field).focus();
  profileError(text);
}

// Plain words for what the browser would otherwise send and the server refuse.
function checkProfile(body) {
  for (const id of ["user-id", "display-name", "email"]) $(id).removeAttribute("aria-invalid");
  if (!body.user_id) return ["user-id", "Enter a user id, such as ada."];
  if (!USER_ID.test(body.user_id)) {
    return [
      "user-id",
      "A user id starts with a letter or digit and has only letters, digits, dots, dashes " +
        "and underscores (up to 64).",
    ];
  }
  if (!body.display_name) return ["display-name", "Enter a name, such as Ada Lovelace."];
  if (!body.email) return ["email", "Enter an e-mail address, such as ada@example.com."];
  if (!EMAIL.test(body.email)) {
    return ["email", `"${body.email}" is not an e-mail address, such as ada@example.com.`];
  }
  return null;
}

async function create(event) {
  event.preventDefault();
  const body = {
    user_id: $("user-id").value.trim(),
    display_name: $("display-name").value.trim(),
    email: $("email").value.trim(),
  };
  profileError("");
  const refused = checkProfile(body);
  if (refused) return invalid(...refused);
  try {
    render(await api("POST", "/users", { json: body, asUser: body.user_id }));
    await listProfiles();
    status("Profile created. Choose a picture.");
  } catch (error) {
    $("picture-section").hidden = true;
    if (error.code === "user_exists") return offerToOpen(body.user_id);
    profileError(error.message);
  }
}

function offerToOpen(userId) {
  const button = document.createElement("button");
  button.type = "button";
  button.id = "open-existing";
  button.textContent = `Open “${userId}”`;
  button.addEventListener("click", () => open(userId));
  profileError(`A profile “${userId}” already exists. Open it instead?`, button);
  button.focus();
}

async function listProfiles() {
  const page = await api("GET", "/users?limit=100");
  const pick = $("pick");
  pick.replaceChildren(pick.options[0]);
  for (const profile of page.items) {
    pick.append(new Option(`${profile.display_name} (${profile.user_id})`, profile.user_id));
  }
}

async function start() {
  state.config = await api("GET", "/config.json");
  const { allowed_formats: formats, max_bytes: max, direct_upload_above: direct } = state.config;
  const extensions = Object.keys(TYPE_BY_EXTENSION).filter((extension) =>
    state.config.allowed_types.includes(TYPE_BY_EXTENSION[extension]),
  );
  $("file").accept = [...state.config.allowed_types, ...extensions.map((e) => `.${e}`)].join(",");
  $("limits").textContent =
    `${formats.map((f) => f.toUpperCase()).join(", ")}, up to ${mib(max)}. Files over ` +
    `${mib(direct)} go straight to the store by presigned POST; smaller ones through the API.`;
  $("profile-form").addEventListener("submit", create);
  $("open").addEventListener("click", () => open($("user-id").value.trim()));
  $("pick").addEventListener("change", () => $("pick").value && open($("pick").value));
  $("upload-form").addEventListener("submit", upload);
  $("delete").addEventListener("click", remove);
  $("file").addEventListener("change", chosen);
  $("crop-box").addEventListener("pointerdown", cropDrag);
  $("crop-box").addEventListener("keydown", cropKeys);
  $("crop-zoom").addEventListener("input", () => zoomCrop(Number($("crop-zoom").value)));
  $("adjust-crop").addEventListener("click", adjust);
  $("save-crop").addEventListener("click", saveCrop);
  $("cancel-crop").addEventListener("click", closeCropper);
  $("avatar-picture").addEventListener("load", describeShown, true); // outlives each <img>
  await listProfiles();
}

start().catch((error) => profileError(`The page could not start: ${error.message}`));
