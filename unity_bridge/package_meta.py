"""The `.meta` files of the Unity package `unity_bridge/unity`, with GUIDs that never change.

Unity refers to scripts, shaders and assembly definitions by the GUID in their `.meta` file. A
package shipped without them gets new GUIDs in every project and on every copy, so scene
components turn into "Missing script". The GUID of every file and folder of the package is
recorded in the committed map `unity_bridge/package_guids.json` (path in the package -> GUID),
and the `.meta` files are committed with the package. A GUID belongs to its file, not to its
path: rename a file together with its `.meta` (`git mv A.cs B.cs; git mv A.cs.meta B.cs.meta`)
and the map follows it. After adding, renaming or removing a file of the package, run

    python -m unity_bridge.package_meta

which records renames (a `.meta` whose GUID the map knows under a path that is gone), gives each
new file a new random GUID, writes the `.meta` files that are missing (a known path gets its
recorded GUID back), forgets paths that are gone, and reports any `.meta` whose GUID differs from
the map's (left alone: changing a GUID breaks the projects that use it).

The GUIDs of the files that existed in package 0.2.0 were derived from their paths (uuid5); they
are kept as they are. A project that installed rdh 0.1.0 (no `.meta` files shipped, so Unity
made up its own GUIDs) keeps its references when upgrading with

    python -m unity_bridge.package_meta --migrate MyProject/Packages/com.rdh.capture MyProject/Assets

run before the new package replaces the old one: it reads the old GUIDs from the old package's
`.meta` files and rewrites them to the recorded ones in the project's scenes, prefabs and assets
(`guid: ...`), and in its assembly definitions and references (`"GUID:..."` in `.asmdef` and
`.asmref` files that reference `Rdh.Capture` by GUID).
"""
from __future__ import annotations

import json
import os
import re
import sys
import uuid
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent / "unity"
GUID_MAP = Path(__file__).resolve().parent / "package_guids.json"
PACKAGE_NAME = "com.rdh.capture"

# file suffix -> the importer block Unity writes for it
_IMPORTERS = {
    ".cs": "MonoImporter:\n  externalObjects: {}\n  serializedVersion: 2\n  defaultReferences: []\n"
           "  executionOrder: 0\n  icon: {instanceID: 0}\n",
    ".shader": "ShaderImporter:\n  externalObjects: {}\n  defaultTextures: []\n  nonModifiableTextures: []\n",
    ".asmdef": "AssemblyDefinitionImporter:\n  externalObjects: {}\n",
    ".json": "TextScriptImporter:\n  externalObjects: {}\n",
    ".md": "TextScriptImporter:\n  externalObjects: {}\n",
}
_TAIL = "  userData: \n  assetBundleName: \n  assetBundleVariant: \n"
_GUID_LINE = re.compile(r"^guid: ([0-9a-f]{32})\s*$", re.M)


def load_guids(path: Path = GUID_MAP) -> dict[str, str]:
    """The committed map: path in the package ('/'-separated) -> GUID (32 hex digits)."""
    return json.loads(Path(path).read_text()) if Path(path).exists() else {}


def save_guids(guids: dict[str, str], path: Path = GUID_MAP) -> None:
    tmp = Path(f"{path}.tmp")
    tmp.write_text(json.dumps(dict(sorted(guids.items())), indent=2) + "\n")
    os.replace(tmp, path)


def guid_of(relative: str, guids: dict[str, str] | None = None) -> str | None:
    """The recorded GUID of a package file or folder, None for a path the map does not know."""
    return (load_guids() if guids is None else guids).get(relative)


def new_guid() -> str:
    """A GUID for a new file: random, like the ones Unity makes, so no path ever decides it."""
    return uuid.uuid4().hex


def meta_guid(meta: Path) -> str | None:
    """The GUID a `.meta` file declares."""
    m = _GUID_LINE.search(meta.read_text(errors="replace"))
    return m.group(1) if m else None


def meta_text(relative: str, is_folder: bool, guid: str) -> str:
    """The `.meta` file Unity expects for a file or folder of the package."""
    head = f"fileFormatVersion: 2\nguid: {guid}\n"
    if is_folder:
        return head + "folderAsset: yes\nDefaultImporter:\n  externalObjects: {}\n" + _TAIL
    suffix = Path(relative).suffix
    if Path(relative).name == "package.json":
        return head + "PackageManifestImporter:\n  externalObjects: {}\n" + _TAIL
    return head + _IMPORTERS.get(suffix, "DefaultImporter:\n  externalObjects: {}\n") + _TAIL


def assets(root: Path = PACKAGE_ROOT) -> list[tuple[str, bool]]:
    """(relative path, is folder) of every file and folder of the package that needs a `.meta`."""
    found = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.suffix == ".meta" or any(part.startswith(".") or part.endswith("~") for part in Path(rel).parts):
            continue  # Unity ignores hidden and ~ names, and a .meta has none of its own
        found.append((rel, path.is_dir()))
    return found


def update(root: Path = PACKAGE_ROOT, map_path: Path = GUID_MAP) -> dict[str, list[str]]:
    """Bring the map and the `.meta` files of `root` in line (see the module's docstring); returns
    what changed: {"written", "renamed", "recorded", "forgotten", "wrong"} -> paths."""
    guids = load_guids(map_path)
    by_guid = {g: rel for rel, g in guids.items()}
    found = assets(root)
    present = {rel for rel, _ in found}
    out: dict[str, list[str]] = {k: [] for k in ("written", "renamed", "recorded", "forgotten", "wrong")}
    for rel, is_folder in found:
        meta = root / f"{rel}.meta"
        if not meta.exists():
            guid = guids.get(rel) or new_guid()
            meta.write_text(meta_text(rel, is_folder, guid))
            guids[rel] = guid
            out["written"].append(rel)
            continue
        guid = meta_guid(meta)
        if rel in guids:
            if guid != guids[rel]:
                out["wrong"].append(rel)
        elif guid is not None and by_guid.get(guid) not in (None, rel) and by_guid[guid] not in present:
            del guids[by_guid[guid]]          # the file moved, and its GUID with it
            guids[rel] = guid
            out["renamed"].append(f"{by_guid[guid]} -> {rel}")
            by_guid[guid] = rel               # a further copy of that .meta is then a clash, not a second move
        elif guid is not None and guid not in by_guid:
            guids[rel] = guid                 # a .meta made elsewhere (by Unity): its GUID is kept
            out["recorded"].append(rel)
        else:
            out["wrong"].append(rel)          # no GUID, or one that another present file has
    for rel in sorted(set(guids) - present):
        del guids[rel]
        out["forgotten"].append(rel)
    save_guids(guids, map_path)
    return out


_SERIALIZED = (".unity", ".prefab", ".asset", ".mat", ".controller", ".overrideController", ".playable",
               ".lighting", ".preset")
_ASSEMBLY_REFERENCES = (".asmdef", ".asmref")


def migrate(old_package: Path, project_assets: Path, guids: dict[str, str] | None = None) -> dict[str, int]:
    """Rewrite the GUIDs an old install of the package got from Unity to the recorded ones, in every
    serialized file (scenes, prefabs, assets: `guid: X`) and every assembly definition or reference
    (`"GUID:X"`) under `project_assets`; returns file -> replacements."""
    guids = load_guids() if guids is None else guids
    mapping = {}
    for meta in Path(old_package).rglob("*.meta"):
        rel = meta.relative_to(old_package).with_suffix("").as_posix()
        old, new = meta_guid(meta), guids.get(rel)
        if old and new and old != new:
            mapping[old] = new
    changed = {}
    for path in sorted(Path(project_assets).rglob("*")):
        if not path.is_file():
            continue
        if path.suffix in _SERIALIZED:
            form = "guid: {}"
        elif path.suffix in _ASSEMBLY_REFERENCES:
            form = '"GUID:{}"'
        else:
            continue
        text = path.read_text(errors="surrogateescape")
        count = 0
        for old, new in mapping.items():
            count += text.count(form.format(old))
            text = text.replace(form.format(old), form.format(new))
        if count:
            path.write_text(text, errors="surrogateescape")
            changed[str(path)] = count
    return changed


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--migrate"]:
        if len(argv) != 3:
            print("usage: python -m unity_bridge.package_meta --migrate OLD_PACKAGE_DIR PROJECT_ASSETS_DIR",
                  file=sys.stderr)
            return 2
        changed = migrate(Path(argv[1]), Path(argv[2]))
        for path, count in changed.items():
            print(f"{path}: {count} reference(s) moved to the package's GUIDs")
        print(f"{len(changed)} file(s) changed")
        return 0
    if argv:
        print("usage: python -m unity_bridge.package_meta [--migrate OLD_PACKAGE_DIR PROJECT_ASSETS_DIR]",
              file=sys.stderr)
        return 2
    out = update()
    for kind in ("written", "renamed", "recorded", "forgotten"):
        for rel in out[kind]:
            print(f"{kind}: {rel}")
    for rel in out["wrong"]:
        print(f"{rel}.meta: its GUID is not the one package_guids.json records for it (kept)", file=sys.stderr)
    return 1 if out["wrong"] else 0


if __name__ == "__main__":
    sys.exit(main())
