// The try-it page: profiles, uploads (API PUT or presigned POST), thumbnails, delete. No build.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { config: null, profile: null, tokens: {}, watch: 0 };
const POLL_MS = 500;
const WATCH_MS = 60000;

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
  processing_timeout: "Making the thumbnails took too long.",
};

class Problem extends Error {
  constructor(status, body) {
    super(explain(status, body));
    this.status = status;
    this.body = body;
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

function say(text, kind = "") {
  $("message").textContent = text;
  $("message").className = kind;
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

async function api(method, path, { json, asUser } = {}) {
  const headers = {};
  if (asUser) headers.Authorization = `Bearer ${await tokenFor(asUser)}`;
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

// XMLHttpRequest rather than fetch: only it reports upload progress.
function send(method, url, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) $("progress").value = (100 * event.loaded) / event.total;
    };
    xhr.onload = () => resolve({ status: xhr.status, text: xhr.responseText });
    xhr.onerror = () => reject(new Error("The upload could not reach the server."));
    xhr.send(body);
  });
}

function precheck(file) {
  const { allowed_types: types, allowed_formats: formats, max_bytes: max } = state.config;
  if (!file) return "Choose a file first.";
  if (!types.includes(file.type)) {
    const names = formats.map((f) => f.toUpperCase()).join(", ");
    return `"${file.name}" is not a supported picture type. Choose ${names}.`;
  }
  if (file.size === 0) return "The file is empty.";
  if (file.size > max) return `The file is ${mib(file.size)}; the limit is ${mib(max)}.`;
  return null;
}

async function uploadThroughApi(userId, file) {
  $("route").textContent = "Sending through the API (PUT /users/{id}/picture) …";
  const token = await tokenFor(userId);
  const reply = await send("PUT", `${userPath(userId)}/picture`, file, {
    "Content-Type": file.type,
    Authorization: `Bearer ${token}`,
  });
  if (reply.status >= 400) throw new Problem(reply.status, parse(reply.text));
}

async function uploadDirect(userId, file) {
  $("route").textContent = "Sending straight to the store (presigned POST) …";
  const policy = await api("POST", `${userPath(userId)}/picture/uploads`, { asUser: userId });
  const form = new FormData();
  for (const [name, value] of Object.entries(policy.fields)) form.append(name, value);
  form.append("Content-Type", file.type);
  form.append("file", file); // the store ignores fields after the file
  const reply = await send("POST", policy.url, form);
  if (reply.status >= 300) {
    const xml = new DOMParser().parseFromString(reply.text, "application/xml");
    const reason = xml.querySelector("Message")?.textContent || `status ${reply.status}`;
    throw new Error(`The store refused the upload: ${reason}`);
  }
  say("Uploaded; the service is checking the picture …");
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
  if (refused) return say(refused, "error");
  const userId = state.profile.user_id;
  $("upload").disabled = true;
  $("progress").hidden = false;
  $("progress").value = 0;
  say("");
  try {
    if (file.size > state.config.direct_upload_above) await uploadDirect(userId, file);
    else await uploadThroughApi(userId, file);
    say("Uploaded. Making the thumbnails …", "ok");
    const settled = await watch((p) => !p.picture || p.picture.status !== "processing");
    if (settled?.picture?.status === "ready") say("Uploaded; the thumbnails are ready.", "ok");
    if (settled?.picture?.status === "failed") say(PLAIN[settled.picture.error] || "The thumbnails failed.", "error");
  } catch (error) {
    say(error.message, "error");
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
    say("Picture deleted: the generated default shows instead.", "ok");
  } catch (error) {
    say(error.message, "error");
  }
}

async function refresh() {
  render(await api("GET", userPath(state.profile.user_id)));
}

// Polls the profile until `until` holds for it; a newer watch ends an older one.
async function watch(until) {
  const mine = ++state.watch;
  const deadline = Date.now() + WATCH_MS;
  while (mine === state.watch && Date.now() < deadline) {
    const profile = await api("GET", userPath(state.profile.user_id));
    render(profile);
    if (until(profile)) return profile;
    await sleep(POLL_MS);
  }
  return null;
}

function render(profile) {
  state.profile = profile;
  const picture = profile.picture;
  $("picture-section").hidden = false;
  $("who").textContent = `${profile.display_name} (${profile.user_id})`;
  // The redirect URL, as an <img src> would use it; v= changes with the picture, so a cached
  // redirect to an older one is never reused.
  const version = picture ? picture.id : `default-${profile.updated_at}`;
  const src = `${userPath(profile.user_id)}/picture?redirect=true&v=${encodeURIComponent(version)}`;
  if ($("avatar").getAttribute("src") !== src) $("avatar").src = src;
  $("avatar").dataset.state = picture ? picture.status : "default";
  $("avatar-caption").textContent = picture
    ? `${picture.format.toUpperCase()} ${picture.width}×${picture.height}, ${picture.status}`
    : "no picture: the generated default";
  $("delete").disabled = !picture;
  renderThumbnails(picture);
}

function renderThumbnails(picture) {
  const box = $("thumbnails");
  const ready = picture?.status === "ready";
  $("thumbs-status").textContent = !picture
    ? "No picture, so no thumbnails."
    : ready
      ? "Ready, straight from the store by signed URL."
      : picture.status === "failed"
        ? "The thumbnails could not be made."
        : "Being made …";
  const key = picture ? `${picture.id}:${picture.status}` : "none";
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
      item.alt = `${size} px thumbnail`;
      item.className = "thumbnail";
      item.dataset.size = size;
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

async function open(userId) {
  say("");
  alertProfile("");
  try {
    state.watch++;
    render(await api("GET", userPath(userId)));
    await tokenFor(userId);
  } catch (error) {
    $("picture-section").hidden = true;
    alertProfile(error.message);
  }
}

function alertProfile(text) {
  $("profile-message").textContent = text;
}

async function create(event) {
  event.preventDefault();
  const body = {
    user_id: $("user-id").value.trim(),
    display_name: $("display-name").value.trim(),
    email: $("email").value.trim(),
  };
  alertProfile("");
  try {
    render(await api("POST", "/users", { json: body, asUser: body.user_id }));
    await listProfiles();
    say("Profile created. Choose a picture.", "ok");
  } catch (error) {
    $("picture-section").hidden = true;
    alertProfile(error.message);
  }
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
  $("file").accept = state.config.allowed_types.join(",");
  $("limits").textContent =
    `${formats.map((f) => f.toUpperCase()).join(", ")}, up to ${mib(max)}. Files over ` +
    `${mib(direct)} go straight to the store by presigned POST; smaller ones through the API.`;
  $("profile-form").addEventListener("submit", create);
  $("open").addEventListener("click", () => open($("user-id").value.trim()));
  $("pick").addEventListener("change", () => $("pick").value && open($("pick").value));
  $("upload-form").addEventListener("submit", upload);
  $("delete").addEventListener("click", remove);
  await listProfiles();
}

start().catch((error) => alertProfile(`The page could not start: ${error.message}`));
