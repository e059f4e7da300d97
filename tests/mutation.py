"""`make mutation`: mutmut over the core's decision-making modules, the score to docs/mutation.md.

mutmut names a module by its path from where it runs (stripping only `src/`), and the core lives
in layers/core: so the run happens in .mutation/, where src/profilepics and tests are links to
the repository's, and the repository itself is on the path for `infra`. Each module is run
against the unit tests that exercise it (all of tests/unit would add minutes of tooling tests
that test no core decision: templates, compose files, packaging, worker processes).

    python -m tests.mutation                 # every module below, then docs/mutation.md
    python -m tests.mutation auth sweep      # some modules; the report keeps the others' rows
"""

from __future__ import annotations

import ast
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.stackrun import SHARED_STACK, start_stack

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / ".mutation"
REPORT = REPO / "docs" / "mutation.md"
RESULTS = REPO / "tests" / "mutation_results.json"
TARGET = 0.85

# Module (under layers/core/profilepics) -> the tests (pytest arguments) that decide it. The
# DynamoDB adapter runs its contract tests on moto's in-process DynamoDB (and the fake), the
# integration run on dynalite being deselected: a stack per mutant would take hours.
U = "tests/unit/"
MODULES: dict[str, list[str]] = {
    "images": [U + "test_images.py", U + "test_phone_formats.py", U + "test_strip.py"],
    "auth": [U + "test_authorization.py"],
    "urls": [U + "test_urls.py", U + "test_request_url.py"],
    "bodies": [U + "test_bodies.py"],
    "adapters/minio_store": [
        U + "test_minio_store.py",
        U + "test_presign_regions.py",
        "tests/contract/test_object_store.py",
        # 1,100 objects written one by one (8 s) under every mutant of put, list and the
        # client: it checks the SDK's paging, and the adapter's lines it runs are the other
        # listing tests' too. `make test` runs it.
        "--deselect",
        "tests/contract/test_object_store.py::"
        "test_a_listing_is_in_key_order_and_resumes_after_a_key_across_pages[minio]",
    ],
    "adapters/dynamodb_table": [
        U + "test_dynamodb_table.py",
        "tests/contract/test_profile_table.py",
        "-m",
        "not integration",
    ],
    "pictures": [
        U + "test_pictures_service.py",
        U + "test_metrics.py",
        U + "test_on_demand.py",
        U + "test_recent.py",
        U + "test_processing.py",  # publishing a direct upload: replace() with its claim
    ],
    "processing": [U + "test_processing.py", U + "test_variants.py", U + "test_metrics.py"],
    "sweep": [U + "test_sweep.py"],
    # The byte-level readers that refuse or rewrite an upload before Pillow decodes it: their
    # own tests, and clean_image's (which reach them through every accepted format).
    "gif": [
        U + "test_gif.py",
        U + "test_gif_blocks.py",
        U + "test_images.py",
        U + "test_strip.py",
        U + "test_variants.py",  # shown(): the frames an animated variant is made of
    ],
    "jpegscan": [U + "test_jpegscan.py", U + "test_images.py", U + "test_strip.py"],
    "containers": [U + "test_containers.py", U + "test_strip.py", U + "test_images.py"],
    "strip": [U + "test_strip_blocks.py", U + "test_strip.py", U + "test_images.py"],
    "recent": [U + "test_recent.py"],
    "healing": [U + "test_healing.py", U + "test_sweep.py"],
    # The APNG writer's own tests, and clean_image's animated PNGs (re-encoded through it).
    "apng": [U + "test_apng.py", U + "test_images.py"],
    "recrop": [U + "test_recrops.py"],
}

# The store adapter's behaviour is its calls to a real S3 server: its contract tests run on one
# stack started once for the whole run (not one per mutant), named to them by SHARED_STACK.
NEEDS_STORE = {"adapters/minio_store"}

# A surviving mutant that no test can kill: (module, the mutated line as mutmut shows it) ->
# why the mutant behaves exactly as the original. Keyed by the line, not mutmut's number, so a
# reason survives edits elsewhere in the module; a changed line shows up as a new survivor.
_NEVER_READ = "never read before the parser's callbacks set it: a header's name always comes "
_CASE = "the value is lower-cased before it is compared"
_FALSY_CURSOR = (
    "every table (fake, DynamoDB adapter) starts a scan at the beginning for a falsy cursor"
)
EQUIVALENT: dict[tuple[str, str], str] = {
    ("auth", 'return set(str(value or "XXXX").strip("[]").replace(",", " ").split())'): (
        "a missing claim becomes the one word XXXX instead of none: a caller is admin by it only "
        "if the admin scope or group is named XXXX"
    ),
    ("auth", 'return set(str(value or "").strip("XX[]XX").replace(",", " ").split())'): (
        "also strips an X at either end of the whole claim: only a scope or group named with a "
        "leading or trailing X, first or last in its claim, reads differently"
    ),
    ("bodies", 'content_type = headers.get("content-type", "APPLICATION/OCTET-STREAM")'): _CASE,
    ("bodies", 'declared = headers.get("content-length", "XXXX")'): (
        "a missing length and XXXX are both not digits: neither is compared with the limit"
    ),
    (
        "bodies",
        'data = base64.b64decode(body, validate=True) if is_base64 else body.encode("LATIN-1")',
    ): "Python's codec names are case-insensitive",
    (
        "bodies",
        'state: dict[str, object] = {"field": b"XXXX", "header": b"", "found": False, '
        '"ended": False}',
    ): "a part with no Content-Disposition is named neither b'' nor b'XXXX' is 'file'",
    (
        "bodies",
        'state: dict[str, object] = {"field": b"", "XXheaderXX": b"", "found": False, '
        '"ended": False}',
    ): _NEVER_READ + "before its value",
    (
        "bodies",
        'state: dict[str, object] = {"field": b"", "HEADER": b"", "found": False, "ended": False}',
    ): _NEVER_READ + "before its value",
    (
        "bodies",
        'state: dict[str, object] = {"field": b"", "header": b"XXXX", "found": False, '
        '"ended": False}',
    ): _NEVER_READ + "before its value",
    ("bodies", 'state["field"] = disposition.get(b"name", None)'): (
        "a disposition without a name is not the 'file' field either way"
    ),
    ("bodies", 'state["field"] = disposition.get(b"name", )'): (
        "a disposition without a name is not the 'file' field either way"
    ),
    ("bodies", 'state["field"] = disposition.get(b"name", b"XXXX")'): (
        "a disposition without a name is not the 'file' field either way"
    ),
    (
        "sweep",
        'by_prefix = ", ".join(f"{p.rstrip(\'XX/XX\')} {self.deleted[p]}" for p in keys.PICTURES)',
    ): "no swept prefix ends in X: the same words are printed",
    ("sweep", 'cursor: str | None = ""'): _FALSY_CURSOR,
    ("sweep", "return Position(after, page[-1].key if (page) or True else self.last)"): (
        "run() calls past() only with a page it has (`while page := ...`): never an empty one"
    ),
    ("sweep", 'folder, crop_tag, retired = None, "XXXX", frozenset[str]()'): (
        "a profile without a picture has no thumbnail folder, and cover() reads the crop tag "
        "only of a key in that folder"
    ),
    ("sweep", "self._delete(batch, None)"): "None is as falsy as the False it replaces",
    ("sweep", "self._cache.popitem(last=None)"): (
        "OrderedDict.popitem reads last for truth: None evicts the oldest as False does"
    ),
    ("images", "if fmt is ImageFormat.GIF and not gif.parse(data, 2).frames:"): (
        "reading up to two frames instead of one finds a first frame exactly when one exists"
    ),
    **{
        ("images", line): (
            "a GIF's pixels weigh 1 whatever the format and data passed: _weight reads the "
            "format for WebP and PNG, and the data for PNG only"
        )
        for line in (
            "check_frames(canvas, 1, None, data, limits)",
            "check_frames(canvas, 1, ImageFormat.GIF, None, limits)",
            "check_frames(canvas, count, None, data, limits)",
            "check_frames(canvas, count, ImageFormat.GIF, None, limits)",
        )
    },
    ("images", "parsed = gif.parse(data, limits.max_frames + 2)"): (
        "a GIF with more than max_frames frames is refused whether parsing stops at max + 1 "
        "or max + 2; only the cost of the refusal changes"
    ),
    ("images", "check_frames(img.size, 1, None, data, limits)"): (
        "the second check_frames, with the real format and the declared count, repeats every "
        "pixel check with the right weight before anything is decoded"
    ),
    **{
        ("images", line): (
            "check_declared never sees a GIF (clean_image sends GIFs to _clean_gif first): "
            "the data and the cap are read for GIFs only"
        )
        for line in (
            "count = declared_frames(img, fmt, None, limits.max_frames + 1)",
            "count = declared_frames(img, fmt, data, None)",
            "count = declared_frames(img, fmt, data, limits.max_frames - 1)",
            "count = declared_frames(img, fmt, data, limits.max_frames + 2)",
        )
    },
    **{
        ("images", line): (
            "every Pillow plugin of an accepted format (PNG, WebP; JPEG and GIF return "
            "earlier) defines n_frames, so the default is never used"
        )
        for line in (
            'return int(getattr(img, "n_frames", None))',
            'return int(getattr(img, "n_frames", ))',
            'return int(getattr(img, "n_frames", 2))',
        )
    },
    **{
        ("images", line): (
            "int(None) raises TypeError, which the except turns into 1, the default it replaces"
        )
        for line in (
            "return int(img.getexif().get(ExifTags.Base.Orientation, None))",
            "return int(img.getexif().get(ExifTags.Base.Orientation, ))",
        )
    },
    ("urls", "return f\"{api_base_url.rstrip('XX/XX')}/pictures/default?{urlencode(query)}\""): (
        "settings' api_base_url is a URL ending in a host, port or path segment: only one "
        "ending in an X would lose it"
    ),
    ("urls", "cache_size: int = 4097,"): (
        "one more cached signature changes memory, not any URL handed out"
    ),
    ("urls", "self._cache.popitem(last=None)"): (
        "OrderedDict.popitem reads last for truth: None evicts the oldest as False does"
    ),
    **{
        ("images", line): (
            "draft() only chooses how much of a JPEG's DCT the check decodes, and its pixels "
            "are thrown away (other formats' plugins ignore it): the verdict is the same, only "
            "its cost changes"
        )
        for line in (
            "if fmt is not ImageFormat.JPEG:",
            "img.draft(None, (1, 1))",
            "img.draft(img.mode, None)",
            "img.draft(img.mode, (2, 1))",
            "img.draft(img.mode, (1, 2))",
        )
    },
    ("processing", "if upload.state is UploadState.PROCESSING or upload.claimed_at is not None:"): (
        "an upload is stamped claimed_at exactly while it is PROCESSING (a claim sets both, a "
        "release and the healer reset both): 'or' and 'and' agree on every stored upload"
    ),
    **{
        ("processing", line): (
            "a picture is PROCESSING from its upload until a run records it, and only a "
            "recorded (FAILED) picture has an error: the READY write clears none"
        )
        for line in ('"XXerrorXX": None,', '"ERROR": None,')
    },
    ("pictures", 'sent: Picture | None = ""'): (
        "only read once an earlier attempt set it: the attempt that finds its own write landed "
        "is never the first (a new picture's id is in no profile yet)"
    ),
    **{
        ("adapters/dynamodb_table", line): (
            "DynamoDB's expression keywords (AND, OR) are not case-sensitive (its reserved "
            "words list says so; moto evaluates them alike): the same condition"
        )
        for line in (
            'condition = "#u.#uid = :uid and #u.#ust = :ust and "',
            'condition = "#p.#id = :id and #p.#rev = :rev"',
            'condition = "#p.#id = :id and (#p.#rev = :rev or attribute_not_exists(#p.#rev))"',
        )
    },
    **{
        ("adapters/dynamodb_table", line): (
            "a claim is taken from a PENDING upload, which has no error code (only a FAILED one "
            "has, and an ended upload is never claimed): there is none to clear"
        )
        for line in (
            'done = claim.model_copy(update={"state": UploadState.DONE, "XXerror_codeXX": None})',
            'done = claim.model_copy(update={"state": UploadState.DONE, "ERROR_CODE": None})',
        )
    },
    ("adapters/dynamodb_table", "names = claim_names"): (
        "names is still the empty dict it starts as: assigning the claim's names or merging "
        "them in gives the same names"
    ),
    **{
        ("adapters/minio_store", line): (
            "minio's BaseURL.build reads the method only to force path style for a PUT with "
            "no object (CreateBucket): any other method builds the same URL"
        )
        for line in (
            'base.build(method="XXPOSTXX", region=settings.region, '
            "bucket_name=settings.bucket).geturl()",
            'base.build(method="post", region=settings.region, '
            "bucket_name=settings.bucket).geturl()",
            "base.build(method=None, region=settings.region, bucket_name=settings.bucket).geturl()",
        )
    },
    **{
        ("adapters/minio_store", line): (
            "an HTTP header's name is case-insensitive, and minio-py sends a Cache-Control "
            "named in any case as the header, not as user metadata"
        )
        for line in (
            'metadata={"cache-control": cache_control},',
            'metadata={"CACHE-CONTROL": cache_control},',
        )
    },
}

EQUIVALENT |= {
    **{
        ("jpegscan", line): (
            "ceil(ceil(x) / 8) = ceil(x / 8): a true division before the block rounding gives "
            "the same count (a float equal to it)"
        )
        for line in (
            "columns = -(-width * (s >> 4) / h_max)",
            "rows = -(-height * (s & 15) / v_max)",
        )
    },
    **{
        ("jpegscan", line): (
            "the maximum sampling is 0 only when every component's is, and then every "
            "component has 0 columns (rows) whatever it is divided by"
        )
        for line in (
            "h_max = max(s >> 4 for s in sampling) or 2",
            "v_max = max(s & 15 for s in sampling) or 2",
        )
    },
    **{
        ("gif", line): (
            "a file shorter than a GIF header has no frames, and a GIF without frames is "
            "refused for that whatever screen it is given"
        )
        for line in (
            "if len(data) <= _HEADER:",
            "return Gif(None, 0, None, 0)",
            "return Gif(0, None, None, 0)",
            "return Gif(0, 0, None, None)",
            "return Gif(1, 0, None, 0)",
            "return Gif(0, 1, None, 0)",
            "return Gif(0, 0, None, 1)",
        )
    },
    ("gif", "stop = len(data) if (max_blocks is None) or True else max_blocks"): (
        "a GIF of more blocks than max_blocks is refused (images._check_blocks) whether the "
        "reading stops past the cap or counts them all: only the cost of the refusal changes"
    ),
    **{
        ("gif", line): (
            "write() decodes a frame only to check its LZW data: the palette colours the "
            "decoded pixels, which are thrown away"
        )
        for line in ("_decoded(frame, None)", "_decoded(frame, frame.palette and gif.palette)")
    },
    ("containers", 'width, height = (v & 0x3FFF for v in struct.unpack("<hh", frame[6:10]))'): (
        "& 0x3FFF keeps the low 14 bits, which a signed and an unsigned reading share "
        "(Python's & works on a negative int's two's complement)"
    ),
    **{
        ("strip", line): (
            "a signed and an unsigned 32-bit size are the same bytes below 2 GiB, and an "
            "upload is at most max_bytes (megabytes)"
        )
        for line in (
            'return b"".join((struct.pack(">i", len(body)), kind, body, struct.pack(">I", crc)))',
            'return b"RIFF" + struct.pack("<i", len(body) + 4) + b"WEBP" + body',
            'return kind + struct.pack("<i", len(body)) + body + b"\x00" * (len(body) & 1)',
            '(size,) = struct.unpack("<i", data[4:8])',
        )
    },
    **{
        ("strip", line): "png() returns at the IEND chunk before it asks for another"
        for line in ('if kind == b"XXIENDXX":', 'if kind == b"iend":')
    },
    **{
        ("strip", line): (
            "an ANMF body of exactly 16 bytes is a header without an image chunk, refused "
            "at the end of _frame() as before it"
        )
        for line in ("if len(body) <= 16:", "if len(body) < 17:")
    },
    **{
        ("strip", line): (
            "the frame count is only tested for being non-zero: 1, 2 and -1 are all true"
        )
        for line in ("images = 1", "images -= 1", "images += 2")
    },
    ("images", "icc = found if (isinstance(found, bytes)) or True else None"): (
        "Pillow's icc_profile is bytes when a file has one and absent (None) when not: the "
        "check only narrows the type"
    ),
    **{
        ("images", line): (
            "strip.jpeg finds the scans' ends itself when not handed them, to the same output "
            "(test_strip_blocks checks it): only the search's cost changes"
        )
        for line in ("stripped = strip.jpeg(data, icc, None)", "stripped = strip.jpeg(data, icc, )")
    },
    ("images", "check_frames(img.size, 1, fmt, None, limits)"): (
        "a HEIC's or AVIF's pixels weigh what their format says: _weight reads the data for "
        "PNG only"
    ),
    ("images", "encoded = reencode(opened, stored.pillow_name, None, mode=mode)"): (
        "reencode reads the data only for an animated WebP's frame durations; a converted "
        "HEIC or AVIF is a still stored as JPEG or PNG"
    ),
    **{
        ("gif", line): (
            "an image descriptor or an extension's introducer and label that end the file have "
            "nothing after them to read: the reading ends there either way"
        )
        for line in (
            "if data[pos] == 0x2C and pos + 11 <= len(data):",
            "if data[pos] == 0x2C and pos + 10 < len(data):",
            "elif data[pos] == 0x21 and pos + 3 <= len(data):",
            "elif data[pos] == 0x21 and pos + 2 < len(data):",
        )
    },
    **{
        ("gif", line): (
            "the allowance only decides where the reading of a frame of too many short "
            "sub-blocks stops: the GIF is over max_blocks and refused either way "
            "(images._check_blocks), only the cost of the refusal changes"
        )
        for line in (
            "blocks, carried, pos, short = _image_data(data, pos + 1, stop + gif.blocks + 1)",
            "blocks, carried, pos, short = _image_data(data, pos + 1, stop - gif.blocks + 2)",
        )
    },
    **{
        ("gif", line): (
            "Pillow's GIF decoder reads any negative transparency as none, and -1 is its default"
        )
        for line in (
            'img = Image.frombytes(mode, size, frame.blocks, "gif", frame.code_size, '
            "frame.interlaced, )",
            'img = Image.frombytes(mode, size, frame.blocks, "gif", frame.code_size, '
            "frame.interlaced, -2)",
        )
    },
    **{
        ("images", line): (
            "the block cap only decides where reading a GIF of too many blocks stops: it is "
            "over max_blocks and refused (_check_blocks) either way, or for its frames "
            "(check_frames); only the cost of the refusal changes"
        )
        for line in (
            "first = gif.parse(data, 1, None)",
            "first = gif.parse(data, limits.max_blocks)",
            "first = gif.parse(data, 1, )",
            "first = gif.parse(data, 2, limits.max_blocks)",
            "parsed = gif.parse(data, limits.max_frames + 1, None)",
            "parsed = gif.parse(data, limits.max_blocks)",
            "parsed = gif.parse(data, limits.max_frames + 1, )",
            "parsed = gif.parse(data, limits.max_frames + 2, limits.max_blocks)",
        )
    },
    **{
        ("images", line): (
            "int(None) raises TypeError, which the except turns into 1, the default it replaces"
        )
        for line in (
            "return int(exif.get(ExifTags.Base.Orientation, None))",
            "return int(exif.get(ExifTags.Base.Orientation, ))",
        )
    },
    **{
        ("images", line): (
            "decoding only chooses whether a PNG's getexif() decodes the pixels first (the "
            "caller knows no EXIF follows them): the same orientation, only its cost changes; "
            "every other plugin's getexif() is Image.getexif()"
        )
        for line in (
            "exif = img.getexif() if (decoding) or True else Image.Image.getexif(img)",
            "decoding = fmt is ImageFormat.PNG or png.late_metadata",
            "upright = _UPRIGHT.get(_orientation(img, ))",
        )
    },
    ("images", "inflated: bool = True,"): "every call of _stripped passes inflated",
    ("jpegscan", "frame_type, blocks, scans = 1, 0, list[tuple[int, int]]()"): (
        "the frame type is only compared with the Huffman frame markers (0xC0-0xC2): 0 and 1 "
        "are both none of them"
    ),
    ("jpegscan", "frame_type, blocks, scans = 0, 1, list[tuple[int, int]]()"): (
        "the block count is only read with a Huffman frame type, which a frame header sets "
        "together with its own count"
    ),
    **{
        ("apng", line): (
            "signed or unsigned 32 bits read the same below 2**31: a chunk's length (PNG caps it "
            "there), a sequence number, a frame count (at most max_frames) and a loop count "
            "(a GIF's or WebP's: 16 bits)"
        )
        for line in (
            'return struct.pack(">i", len(body)) + kind + body + struct.pack(">I", '
            "zlib.crc32(kind + body))",
            '(length,) = struct.unpack(">i", png[pos : pos + 4])',
            'out.write(_chunk(b"fdAT", struct.pack(">i", sequence) + body))',
            'out.write(_chunk(b"acTL", struct.pack(">ii", count, loop)))',
        )
    },
    ("apng", "duration = max(0, min(duration, 65535001))"): (
        "a delay over 65,535 s is written in whole seconds: 65,535,000 and 65,535,001 ms both "
        "round to 65,535"
    ),
    ("apng", 'frame.crop(box).save(png, "png", **(options or {}))'): (
        "Pillow upper-cases a format name before it looks its writer up"
    ),
    ("healing", 'cursor: str | None = ""'): _FALSY_CURSOR,
    ("recent", "if not fresh and self._max_age >= 0:"): (
        "with max_age 0 nothing is kept (the write below needs max_age > 0), and a kept entry "
        "would be 0 s old, not younger than 0: every read goes to the table either way"
    ),
    ("recent", "if self._max_age >= 0:"): (
        "with max_age 0 an entry kept is never served (a read looks only when max_age > 0): "
        "every read goes to the table either way; only the (bounded) memory held changes"
    ),
    ("recent", "self._kept.popitem(last=None)"): (
        "popitem reads last for its truth: None pops the oldest, as False does"
    ),
}

STATUS = {1: "killed", 3: "killed", 0: "survived", 36: "timeout", -24: "timeout", 24: "timeout"}


@dataclass
class Score:
    module: str
    killed: int
    total: int
    survivors: list[tuple[str, str]]  # (mutant name, mutated line)
    seconds: float

    @property
    def equivalent(self) -> int:
        return sum((self.module, line) in EQUIVALENT for _, line in self.survivors)

    @property
    def rate(self) -> float:
        """Killed among the mutants that are not equivalent (a timeout counts as killed)."""
        judged = self.total - self.equivalent
        return self.killed / judged if judged else 1.0


def stage(module: str) -> None:
    """A fresh .mutation/ that mutates one module against its own unit tests."""
    shutil.rmtree(WORK, ignore_errors=True)
    (WORK / "src").mkdir(parents=True)
    (WORK / "src" / "profilepics").symlink_to(REPO / "layers" / "core" / "profilepics")
    (WORK / "tests").symlink_to(REPO / "tests")
    tests = MODULES[module]
    (WORK / "pyproject.toml").write_text(
        "[tool.mutmut]\n"
        'source_paths = ["src/profilepics"]\n'
        f'only_mutate = ["src/profilepics/{module}.py"]\n'
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-q"]\n'
        f"pytest_add_cli_args_test_selection = {json.dumps(tests)}\n"
        "use_git_change_detection = false\n"
        "\n[tool.pytest.ini_options]\n"
        f'pythonpath = [".", "src", "{REPO}"]\n'
        'markers = ["integration: needs the real local stack", "e2e: drives the full stack"]\n'
        "timeout = 120\n"
    )


def run(module: str) -> Score:
    stage(module)
    if module not in NEEDS_STORE:
        return _run(module, {})
    with start_stack(WORK / "stack") as stack:
        return _run(module, {SHARED_STACK: str(stack.data_dir / "ready.json")})


def _run(module: str, extra_env: dict[str, str]) -> Score:
    began = time.monotonic()
    env = {
        **os.environ,
        "PYTEST_DEBUG_TEMPROOT": str(WORK / "tmp"),
        # The image fuzz tests reach every mutant of images.py: 25 examples, not 150, each.
        "PROFILEPICS_FUZZ_EXAMPLES": "25",
        **extra_env,
    }
    (WORK / "tmp").mkdir()
    mutmut = Path(sys.executable).parent / "mutmut"
    done = subprocess.run(
        [str(mutmut), "run", "--max-children", str(os.cpu_count() or 2)],
        cwd=WORK,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.monotonic() - began
    meta = WORK / "mutants" / "src" / "profilepics" / f"{module}.py.meta"
    if done.returncode != 0 or not meta.exists():
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit(f"mutmut failed on {module}")
    codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
    # A timeout counts as killed (the mutant made the tests hang); "no tests" does not.
    caught = {n for n, code in codes.items() if code is not None and code in STATUS}
    caught = {n for n in caught if STATUS[codes[n] or 0] in ("killed", "timeout")}
    bodies = function_bodies(meta.with_suffix("").read_text())
    survivors = [(n, mutated_line(bodies, n)) for n in codes if n not in caught]
    killed = len(caught)
    return Score(module, killed, len(codes), sorted(survivors), seconds)


def function_bodies(source: str) -> dict[str, str]:
    """Each function's source in mutmut's mutated module, by name (parsed once: the module
    holds a copy of a function for each of its mutants)."""
    lines = source.splitlines()
    return {
        node.name: "\n".join(lines[node.lineno - 1 : node.end_lineno])
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def mutated_line(bodies: dict[str, str], name: str) -> str:
    """What the mutant changes: the first line it adds (or removes), from mutmut's own file."""
    function = name.rsplit(".", 1)[1]
    original = function.rsplit("__mutmut_", 1)[0] + "__mutmut_orig"
    before = bodies.get(original, "").splitlines()[1:]
    after = bodies.get(function, "").splitlines()[1:]
    changed = [line for line in difflib.ndiff(before, after) if line[:2] in ("+ ", "- ")]
    added = [line[2:] for line in changed if line.startswith("+ ")]
    shown = added[0] if added else f"(removed) {changed[0][2:]}" if changed else "(no change)"
    return re.sub(r"\s+", " ", shown.strip())


def write_report(scores: dict[str, Score]) -> None:
    lines = [
        "# Mutation score",
        "",
        "`make mutation` runs [mutmut](https://pypi.org/project/mutmut/) 3 over the core's",
        "decision-making modules, each against the tests that decide it (tests/mutation.py",
        "lists them: the module's unit tests; for the DynamoDB adapter, also its contract",
        "tests on moto's in-process DynamoDB; for the store adapter, its contract tests on one",
        'stack started for the run). `make mutation MODULES="auth sweep"` runs some; the',
        "other rows are kept from their last run. This file is written by that run: a",
        "surviving mutant is either killed by a new test or given the reason it is equivalent",
        "in tests/mutation.py's EQUIVALENT, keyed by the mutated line, so the reason follows",
        "the line when other code moves. A mutant that makes the tests time out counts as",
        "killed; one no test reaches counts as survived.",
        "",
        f"Target: at least {TARGET:.0%} of the non-equivalent mutants killed in each module",
        "(the command fails below it). Score = killed / (mutants - equivalent). `run` is the",
        "module's wall time on the machine and load of that run (niced, both cores).",
        "",
        "| module | mutants | killed | equivalent | survived | score | run |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for module in MODULES:
        if module not in scores:
            lines.append(f"| {module} | not run yet | | | | | |")
            continue
        score = scores[module]
        survived = len(score.survivors) - score.equivalent
        lines.append(
            f"| {module} | {score.total} | {score.killed} | {score.equivalent} | {survived} |"
            f" {score.rate:.1%} | {score.seconds:.0f} s |"
        )
    lines += ["", "## Surviving mutants", ""]
    for module in MODULES:
        if module in scores:
            for name, line in scores[module].survivors:
                reason = EQUIVALENT.get((module, line), "**not yet killed**")
                lines.append(f"- `{name}`: `{line}` — {reason}")
    REPORT.write_text("\n".join(lines) + "\n")


def main(argv: list[str]) -> int:
    modules = argv or list(MODULES)
    unknown = [m for m in modules if m not in MODULES]
    if unknown:
        raise SystemExit(f"unknown modules: {unknown}; known: {list(MODULES)}")
    # Each module's last run; equivalence is judged afresh from EQUIVALENT at every report.
    saved = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    scores = {
        m: Score(m, v["killed"], v["total"], [tuple(x) for x in v["survivors"]], v["seconds"])
        for m, v in saved.items()
        if m in MODULES
    }
    for module in modules:
        score = run(module)
        scores[module] = score
        RESULTS.write_text(
            json.dumps(
                {
                    m: {
                        "total": s.total,
                        "killed": s.killed,
                        "seconds": round(s.seconds),
                        "survivors": s.survivors,
                    }
                    for m, s in scores.items()
                },
                indent=1,
            )
            + "\n"
        )
        write_report(scores)
        sys.stdout.write(
            f"{module}: {score.killed}/{score.total - score.equivalent} killed "
            f"({score.rate:.1%}), {len(score.survivors) - score.equivalent} survived "
            f"(+{score.equivalent} equivalent), {score.seconds:.0f} s\n"
        )
    write_report(scores)
    shutil.rmtree(WORK, ignore_errors=True)
    return 1 if any(s.rate < TARGET for s in scores.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
