"""Stage 1, configure: overlay-gen.toml, the aspect files, the integrations on offer.

An aspect file is TOML::

    [[aspect]]
    id = "example.trace-handlers"
    doc = "What it is for."                      # optional
    join-point = { function-declaration = { name = "Handle*" } }

    [[aspect.advice]]
    prepend-statements = { imports = { fmt = "fmt" }, template = 'fmt.Println("{{function.name}}")' }

The module root's ``overlay-gen.toml`` may add aspect files and switch aspects
off::

    aspects = ["instrumentation/extra.toml"]    # relative to the module root
    disable = ["overlay-gen.build-info"]        # aspect ids, shell patterns allowed

The built-in aspects come in integrations (:mod:`.integration`), whose files
have an ``[integration]`` table too; :func:`configure` reads their metadata and
the user's files, and once the graph says which integrations apply (stage 3),
:func:`aspect_set` loads their aspects. Aspects apply in load order: the
integrations' by name, then the user's files as listed, and within a file in
order of appearance (docs/adr/0003).
"""

from __future__ import annotations

import fnmatch
import hashlib
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from .advice import Advice, parse_advice
from .errors import ConfigError
from .integration import Integration, catalog
from .join import JoinPoint, parse_join_point
from .tomlkeys import Loc, suggest

CONFIG_FILE = "overlay-gen.toml"


@attrs.frozen
class Aspect:
    id: str
    join_point: JoinPoint
    advice: tuple[Advice, ...]
    source: str  # the file it came from, as displayed
    doc: str = ""

    @property
    def package_scoped(self) -> bool:
        """True when every advice acts on whole packages (no node needed)."""
        return all(a.ACCEPTS is None for a in self.advice)


def _read_toml(path: Path, display: str) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(display, "no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(display, f"not valid TOML: {exc}") from None


def load_file(path: Path, display: str, integration: bool = False) -> list[Aspect]:
    """The aspects of one file, each checked: keys, types, templates, and
    that every advice can act on what its join point selects. An
    ``integration`` file also has its metadata table (:mod:`.integration`)."""
    loc = Loc(display)
    document = loc.table(_read_toml(path, display), ["integration", "aspect"] if integration else ["aspect"])
    aspects = []
    for index, value in enumerate((loc / "aspect").array(document.get("aspect", []))):
        here = loc / "aspect" / index
        # An aspect with a usable id is named by it in every error, its own keys' too; else by its index.
        named = value.get("id") if isinstance(value, dict) else None
        at = Loc(display, aspect=named) if isinstance(named, str) and _valid_id(named) else here
        table = at.table(value, ["id", "doc", "join-point", "advice"], required=["id", "join-point", "advice"])
        aspect_id = (here / "id").string(table["id"])
        if not _valid_id(aspect_id):
            raise (here / "id").error(f"{aspect_id!r} is not an aspect id", hint="use letters, digits, '.', '-'")
        join_point = parse_join_point(table["join-point"], at / "join-point")
        advice_values = (at / "advice").array(table["advice"])
        if not advice_values:
            raise (at / "advice").error("needs at least one advice")
        advice = tuple(parse_advice(v, at / "advice" / i) for i, v in enumerate(advice_values))
        for i, adv in enumerate(advice):
            _check_target(adv, join_point, at / "advice" / i / adv.key)
        doc = (at / "doc").string(table["doc"]) if "doc" in table else ""
        aspects.append(Aspect(aspect_id, join_point, advice, display, doc))
    return aspects


def _valid_id(aspect_id: str) -> bool:
    return bool(aspect_id) and not any(c.isspace() for c in aspect_id)


def _check_target(advice: Advice, join_point: JoinPoint, loc: Loc) -> None:
    if advice.ACCEPTS is None:
        return
    wanted = ", ".join(sorted(t.replace("_", " ") for t in advice.ACCEPTS))
    selected = join_point.node_types
    if selected is None:
        raise loc.error(
            f"acts on {wanted}, but the join point only filters packages or files",
            hint="combine it with a join point that selects nodes in all-of",
        )
    if not selected <= advice.ACCEPTS:
        extra = ", ".join(sorted(t.replace("_", " ") for t in selected - advice.ACCEPTS))
        raise loc.error(f"acts on {wanted}, but the join point also selects {extra}")


@attrs.frozen
class Config:
    aspect_files: tuple[str, ...] = ()
    disable: tuple[str, ...] = ()

    def disabled(self, aspect_id: str) -> bool:
        return any(fnmatch.fnmatchcase(aspect_id, p) for p in self.disable)


def load_config(root: Path) -> Config:
    path = root / CONFIG_FILE
    if not path.exists():
        return Config()
    loc = Loc(CONFIG_FILE)
    table = loc.table(_read_toml(path, CONFIG_FILE), ["aspects", "disable"])
    return Config(
        aspect_files=(loc / "aspects").strings(table.get("aspects", [])),
        disable=(loc / "disable").strings(table.get("disable", [])),
    )


@attrs.frozen
class Setup:
    """What the configuration offers a build: the integrations (their metadata)
    and the user's own aspects, which always apply."""

    root: Path
    config: Config
    integrations: tuple[Integration, ...]  # () with --no-builtin
    user_aspects: tuple[Aspect, ...]
    user_files: tuple[Path, ...]  # the user's aspect files, in load order


def configure(root: Path, extra_files: Sequence[Path] = (), builtin: bool = True) -> Setup:
    """Read overlay-gen.toml, the integrations' metadata and the user's aspect
    files (checked now: a mistake there fails before anything runs)."""
    config = load_config(root)
    integrations = catalog() if builtin else ()
    files = [(root / name, name) for name in config.aspect_files] + [(path, str(path)) for path in extra_files]
    for index, name in enumerate(config.aspect_files):
        if not (root / name).is_file():
            raise (Loc(CONFIG_FILE) / "aspects" / index).error(
                f"{name}: no such file", hint="aspect files are named relative to the module root"
            )
    seen = {a: i.display for i in integrations for a in i.aspect_ids}
    user: list[Aspect] = []
    for path, display in files:
        for aspect in load_file(path, display):
            if aspect.id in seen:
                raise ConfigError(display, f"aspect id {aspect.id!r} is already used in {seen[aspect.id]}")
            seen[aspect.id] = display
            user.append(aspect)
    for index, pattern in enumerate(config.disable):
        if not any(fnmatch.fnmatchcase(a, pattern) for a in seen):
            raise (Loc(CONFIG_FILE) / "disable" / index).error(
                f"{pattern!r} matches no aspect", hint=suggest(pattern, seen)
            )
    return Setup(root, config, integrations, tuple(user), tuple(path for path, _ in files))


@attrs.frozen
class AspectSet:
    """The enabled aspects in application order, and a digest of what defines
    them (the aspect files' bytes and the enabled ids; not where the files are)."""

    aspects: tuple[Aspect, ...]
    digest: str
    files: tuple[Path, ...] = ()  # the files read, but the built-in ones (overlay-gen.toml included)


def aspect_set(setup: Setup, applying: Sequence[Integration]) -> AspectSet:
    """The aspects a build applies: those of the integrations that apply to it
    (loaded now), then the user's, without those overlay-gen.toml switches off."""
    aspects: list[Aspect] = []
    digest = hashlib.sha256()
    for integration in applying:
        digest.update(hashlib.sha256(integration.file.read_bytes()).digest())
        aspects += load_file(integration.file, integration.display, integration=True)
    for path in setup.user_files:
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    aspects += setup.user_aspects
    enabled = tuple(a for a in aspects if not setup.config.disabled(a.id))
    digest.update("\n".join(a.id for a in enabled).encode())
    files = [setup.root / CONFIG_FILE] if (setup.root / CONFIG_FILE).is_file() else []
    return AspectSet(enabled, f"sha256:{digest.hexdigest()}", tuple(files + list(setup.user_files)))
