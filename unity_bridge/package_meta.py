"""The `.meta` files of the Unity package `unity_bridge/unity`, with fixed GUIDs.

Unity refers to scripts, shaders and assembly definitions by the GUID in their `.meta` file. A
package shipped without them gets new GUIDs in every project and on every copy, so scene
components turn into "Missing script". Each GUID here is derived from the file's path inside
the package (uuid5 of "com.rdh.capture/<path>"), so it never changes, and the `.meta` files are
committed with the package. After adding a file to the package, run

    python -m unity_bridge.package_meta

which writes the missing `.meta` files and reports any whose GUID differs from its path's.

A project that installed rdh 0.1.0 (no `.meta` files shipped, so Unity made up its own GUIDs)
keeps its script references when upgrading with

    python -m unity_bridge.package_meta --migrate MyProject/Packages/com.rdh.capture MyProject/Assets

run before the new package replaces the old one: it reads the old GUIDs from the old package's
`.meta` files and rewrites them to the fixed ones in the project's scenes, prefabs and assets.
"""
from __future__ import annotations

import sys
import uuid
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent / "unity"
PACKAGE_NAME = "com.rdh.capture"
_NAMESPACE = uuid.UUID("819f11f0-96a2-5604-827e-e7e865655583")   # the capture channel's id

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


def guid_for(relative: str) -> str:
    """The GUID (32 hex digits) of a package file or folder, from its '/'-separated path in the package."""
    return uuid.uuid5(_NAMESPACE, f"{PACKAGE_NAME}/{relative}").hex


def meta_text(relative: str, is_folder: bool) -> str:
    """The `.meta` file Unity expects for a file or folder of the package."""
    head = f"fileFormatVersion: 2\nguid: {guid_for(relative)}\n"
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


def write_missing(root: Path = PACKAGE_ROOT) -> tuple[list[str], list[str]]:
    """Write the `.meta` files that are missing; return (written, wrong): wrong ones name a GUID
    other than their path's (left alone: changing a GUID breaks the projects that use it)."""
    written, wrong = [], []
    for rel, is_folder in assets(root):
        meta = root / f"{rel}.meta"
        if not meta.exists():
            meta.write_text(meta_text(rel, is_folder))
            written.append(rel)
        elif f"guid: {guid_for(rel)}\n" not in meta.read_text():
            wrong.append(rel)
    return written, wrong


_SERIALIZED = (".unity", ".prefab", ".asset", ".mat", ".controller", ".overrideController", ".playable",
               ".lighting", ".preset")


def migrate(old_package: Path, project_assets: Path) -> dict[str, int]:
    """Rewrite the GUIDs an old install of the package got from Unity to the fixed ones, in every
    serialized file (scenes, prefabs, assets) under `project_assets`; returns file -> replacements."""
    mapping = {}
    for meta in Path(old_package).rglob("*.meta"):
        rel = meta.relative_to(old_package).with_suffix("").as_posix()
        for line in meta.read_text(errors="replace").splitlines():
            if line.startswith("guid: ") and line[6:].strip() != guid_for(rel):
                mapping[line[6:].strip()] = guid_for(rel)
    changed = {}
    for path in sorted(Path(project_assets).rglob("*")):
        if path.suffix not in _SERIALIZED or not path.is_file():
            continue
        text = path.read_text(errors="surrogateescape")
        count = 0
        for old, new in mapping.items():
            count += text.count(f"guid: {old}")
            text = text.replace(f"guid: {old}", f"guid: {new}")
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
            print(f"{path}: {count} reference(s) moved to the fixed GUIDs")
        print(f"{len(changed)} file(s) changed")
        return 0
    written, wrong = write_missing()
    for rel in written:
        print(f"wrote {rel}.meta")
    for rel in wrong:
        print(f"{rel}.meta: its GUID is not the one of its path (kept)", file=sys.stderr)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
