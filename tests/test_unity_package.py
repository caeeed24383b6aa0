"""The Unity package unity_bridge/unity without Unity: its manifest, its .meta files, its protocol
against unity_bridge/protocol.py, and (with Mono's mcs) its C# compiled against stub assemblies
and its plain-C# parts run under Mono."""
import json
import re
import shutil
import subprocess
import types
import uuid
from pathlib import Path

import pytest

from tests.doc_blocks import doc_block
from unity_bridge import protocol
from unity_bridge.package_meta import (GUID_MAP, PACKAGE_ROOT, assets, guid_of, load_guids, meta_guid, meta_text,
                                       update)
from unity_bridge.testing.csharp_protocol import (AGENT_CS, PROTOCOL_CS, agent_ops, protocol_differences,
                                                  read_csharp)

RUNTIME = PACKAGE_ROOT / "Runtime"
STUBS = Path(__file__).resolve().parent / "unity_stubs"
MCS = shutil.which("mcs")
MONO = shutil.which("mono")
needs_mcs = pytest.mark.skipif(MCS is None, reason="Mono's C# compiler mcs is not installed (apt-get install mono-mcs)")


# -- the manifest -----------------------------------------------------------------------------------
def test_package_json_targets_unity_2021_3_and_ml_agents_2_0():
    manifest = json.loads((PACKAGE_ROOT / "package.json").read_text())
    assert manifest["name"] == "com.rdh.capture"
    assert manifest["unity"] == "2021.3"
    assert re.fullmatch(r"2\.0\.\d+", manifest["dependencies"]["com.unity.ml-agents"])
    assert manifest["version"] == protocol.PACKAGE_VERSION == read_csharp(PROTOCOL_CS.read_text()).package_version
    asmdef = json.loads((RUNTIME / "Rdh.Capture.asmdef").read_text())
    assert asmdef["name"] == "Rdh.Capture" and "Unity.ML-Agents" in asmdef["references"]
    assert {"name": "com.blackhorizonstudios.unistorm", "expression": "0.0.0", "define": "RDH_UNISTORM"} \
        in asmdef["versionDefines"]
    # URP 12 (Unity 2021.3) and later: the mask camera's renderer and feature switches compile with RDH_URP.
    assert {"name": "com.unity.render-pipelines.universal", "expression": "12.0.0", "define": "RDH_URP"} \
        in asmdef["versionDefines"]
    assert {"Unity.RenderPipelines.Universal.Runtime", "Unity.RenderPipelines.Core.Runtime"} <= set(asmdef["references"])


# A type or call of the package -> the built-in module (package) that provides it. A project that
# disabled the module would not compile the package unless package.json asks for it.
MODULES = {
    r"\bTerrain\b": "com.unity.modules.terrain",
    r"\bParticleSystem(Renderer)?\b": "com.unity.modules.particlesystem",
    r"\bNavMeshAgent\b": "com.unity.modules.ai",
    r"\bEncodeToPNG\b": "com.unity.modules.imageconversion",
    r"\bJsonUtility\b": "com.unity.modules.jsonserialize",
    r"\bAnimator\b": "com.unity.modules.animation",
    r"\bPlayableDirector\b": "com.unity.modules.director",
}


def test_package_json_lists_every_built_in_module_the_package_uses():
    code = "\n".join(re.sub(r"//[^\n]*", "", p.read_text()) for p in sorted(RUNTIME.glob("*.cs")))
    used = {module for pattern, module in MODULES.items() if re.search(pattern, code)}
    assert used == set(MODULES.values())          # every entry of the table is still needed
    dependencies = json.loads((PACKAGE_ROOT / "package.json").read_text())["dependencies"]
    assert {m: dependencies.get(m) for m in used} == {m: "1.0.0" for m in used}


def test_no_api_newer_than_unity_2021_3():
    newer = ("FindFirstObjectByType", "FindAnyObjectByType", "FindObjectsByType", "FindObjectsSortMode",
             "Awaitable", "InstantiateAsync", "simulationMode", "linearVelocity", "TryDequeue")
    for path in sorted(RUNTIME.glob("*.cs")):
        code = re.sub(r"//[^\n]*", "", path.read_text())
        used = [name for name in newer if re.search(rf"\b{name}\b", code)]
        assert used == [], f"{path.name} uses {used}"


def test_shader_name_matches_the_agent():
    shader = (RUNTIME / "Shaders" / "RdhMaskUnlit.shader").read_text()
    name = re.search(r'Shader\s+"([^"]+)"', shader).group(1)
    assert f'MaskShaderName = "{name}"' in AGENT_CS.read_text()
    for prop in ("_RdhId", "_RdhCutoff", "_RdhAlpha", "_RdhCull", "_MainTex"):
        assert prop in shader and f'"{prop}"' in (RUNTIME / "FrameCapture.cs").read_text()


def shader_passes(shader: str) -> list[tuple[str, str]]:
    """(SubShader tags, pass body) of every pass, by brace matching."""
    out, i = [], 0
    code = re.sub(r"//[^\n]*", "", shader)
    while (m := re.search(r"\bSubShader\s*\{", code[i:])) is not None:
        start = i + m.end()
        depth, j = 1, start
        while depth:
            depth += {"{": 1, "}": -1}.get(code[j], 0)
            j += 1
        body = code[start:j - 1]
        tags = re.search(r"Tags\s*\{([^}]*)\}", body).group(1)
        for pm in re.finditer(r"\bPass\s*\{", body):
            k, d = pm.end(), 1
            while d:
                d += {"{": 1, "}": -1}.get(body[k], 0)
                k += 1
            out.append((tags, body[pm.end():k - 1]))
        i = j
    return out


def test_id_shader_has_depth_passes_with_the_same_vertex_and_clip_and_the_material_cull():
    shader = (RUNTIME / "Shaders" / "RdhMaskUnlit.shader").read_text()
    passes = shader_passes(shader)
    urp = [(body) for tags, body in passes if '"RenderPipeline" = "UniversalPipeline"' in tags]
    builtin = [(body) for tags, body in passes if "RenderPipeline" not in tags]
    modes = [re.search(r'"LightMode"\s*=\s*"(\w+)"', b).group(1) if "LightMode" in b else "" for b in urp]
    assert modes == ["", "DepthOnly", "DepthNormals"]      # URP: id pass (SRPDefaultUnlit) and its prepasses
    assert len(builtin) == 1 and "LightMode" not in builtin[0]   # built-in: the id pass alone
    for body in urp + builtin:
        assert re.search(r"\bCull\s+\[_RdhCull\]", body), body   # the source material's faces, no blanket Cull Off
        assert "#pragma vertex vert" in body
    assert not re.search(r"\bCull\s+Off\b", re.sub(r"//[^\n]*", "", shader))
    fragments = {re.search(r"#pragma fragment (\w+)", b).group(1) for b in urp}
    for fragment in fragments:                               # every fragment clips as the id pass does
        body = re.search(rf"{fragment}\s*\(v2f i\)[^{{]*\{{([^}}]*)\}}", shader).group(1)
        assert body.strip().startswith("clipAlpha(i);"), fragment


# -- .meta files ------------------------------------------------------------------------------------
def test_every_file_and_folder_has_a_meta_with_its_recorded_unique_guid():
    found = assets()
    rels = {rel for rel, _ in found}
    assert {"package.json", "Runtime", "Runtime/Shaders", "Runtime/CaptureAgent.cs",
            "Runtime/Shaders/RdhMaskUnlit.shader", "Runtime/Rdh.Capture.asmdef"} <= rels
    guids = load_guids()
    assert set(guids) == rels, "run python -m unity_bridge.package_meta"
    for rel, is_folder in found:
        meta = PACKAGE_ROOT / f"{rel}.meta"
        assert meta.is_file(), f"{rel} has no .meta: run python -m unity_bridge.package_meta"
        text = meta.read_text()
        guid = meta_guid(meta)
        assert guid, f"{rel}.meta has no 32-hex guid"
        assert guid == guids[rel], f"{rel}.meta: its GUID is not the one package_guids.json records"
        assert text == meta_text(rel, is_folder, guids[rel])
    assert len(set(guids.values())) == len(guids)
    orphans = [p for p in PACKAGE_ROOT.rglob("*.meta") if not p.with_suffix("").exists()]
    assert orphans == []
    assert "MonoImporter" in (RUNTIME / "CaptureAgent.cs.meta").read_text()
    assert "folderAsset: yes" in (PACKAGE_ROOT / "Runtime.meta").read_text()


def test_the_guids_of_package_0_2_0_are_kept():
    # Projects made with package 0.2.0 hold these (they were derived from the paths then).
    namespace = uuid.UUID("819f11f0-96a2-5604-827e-e7e865655583")
    for rel in ("Runtime/CaptureAgent.cs", "Runtime/Shaders/RdhMaskUnlit.shader", "Runtime/Rdh.Capture.asmdef",
                "Runtime/UniStormSkyController.cs", "Runtime/DirectionalLightSkyController.cs"):
        assert guid_of(rel) == uuid.uuid5(namespace, f"com.rdh.capture/{rel}").hex, rel


@pytest.fixture
def package_copy(tmp_path):
    root = tmp_path / "unity"
    shutil.copytree(PACKAGE_ROOT, root)
    guid_map = tmp_path / "guids.json"
    shutil.copy(GUID_MAP, guid_map)
    return root, guid_map


def test_a_renamed_file_keeps_its_guid(package_copy):
    root, guid_map = package_copy
    before = load_guids(guid_map)["Runtime/FrameCapture.cs"]
    (root / "Runtime" / "FrameCapture.cs").rename(root / "Runtime" / "ImageCapture.cs")
    (root / "Runtime" / "FrameCapture.cs.meta").rename(root / "Runtime" / "ImageCapture.cs.meta")
    out = update(root, guid_map)
    assert out["renamed"] == ["Runtime/FrameCapture.cs -> Runtime/ImageCapture.cs"] and out["wrong"] == []
    guids = load_guids(guid_map)
    assert guids["Runtime/ImageCapture.cs"] == before and "Runtime/FrameCapture.cs" not in guids
    assert update(root, guid_map) == {k: [] for k in out}          # a second run changes nothing


def test_new_files_get_a_new_guid_and_lost_metas_come_back(package_copy):
    root, guid_map = package_copy
    (root / "Runtime" / "NewThing.cs").write_text("// new\n")
    agent_guid = load_guids(guid_map)["Runtime/CaptureAgent.cs"]
    (root / "Runtime" / "CaptureAgent.cs.meta").unlink()
    (root / "Runtime" / "FrameCapture.cs.meta").write_text("fileFormatVersion: 2\nguid: " + "0" * 32 + "\n")
    (root / "Runtime" / "GuardedSteps.cs").unlink()
    (root / "Runtime" / "GuardedSteps.cs.meta").unlink()
    out = update(root, guid_map)
    assert sorted(out["written"]) == ["Runtime/CaptureAgent.cs", "Runtime/NewThing.cs"]
    assert out["wrong"] == ["Runtime/FrameCapture.cs"] and out["forgotten"] == ["Runtime/GuardedSteps.cs"]
    guids = load_guids(guid_map)
    assert meta_guid(root / "Runtime" / "CaptureAgent.cs.meta") == agent_guid       # restored from the map
    new = guids["Runtime/NewThing.cs"]
    assert meta_guid(root / "Runtime" / "NewThing.cs.meta") == new and new not in (
        uuid.uuid5(uuid.UUID("819f11f0-96a2-5604-827e-e7e865655583"), "com.rdh.capture/Runtime/NewThing.cs").hex,)
    assert (root / "Runtime" / "FrameCapture.cs.meta").read_text().endswith("0" * 32 + "\n")   # kept
    assert guids["Runtime/FrameCapture.cs"] != "0" * 32


# -- the protocol on both sides ---------------------------------------------------------------------
def test_csharp_protocol_matches_python():
    cs = read_csharp(PROTOCOL_CS.read_text())
    assert cs.channel_id == protocol.CHANNEL_ID and cs.version == protocol.PROTOCOL_VERSION == 3
    assert cs.name == protocol.PROTOCOL_NAME
    assert "weather_type" in cs.classes["CaptureReply"] and "settle_seconds" in cs.classes["CaptureRequest"]
    assert "parseError" not in cs.classes["CaptureRequest"]          # [NonSerialized]: never on the wire
    assert protocol_differences(cs, agent_ops=agent_ops(AGENT_CS.read_text())) == []


@pytest.mark.parametrize("old, new, expected", [
    ("public string weather_type", "public string weatherType", "reply field 'weather_type': in Python"),
    ("public float settle_seconds;", "public float settle_secs;", "request field 'settle_seconds': in Python"),
    ("public int frames;", "public string frames = \"\";", "reply field 'frames': C# string"),
    ("public const int Version = 3;", "public const int Version = 2;", "protocol version: C# 2, Python 3"),
    ("public string sky = \"\";", "public string skyState = \"\";", "reply field 'sky': in Python"),
    ("public int mask_pass_diff;", "public float mask_pass_diff;", "reply field 'mask_pass_diff': C# float"),
    ("819f11f0-96a2-5604-827e-e7e865655583", "819f11f0-96a2-5604-827e-e7e865655584", "channel id"),
    ("public string category;", "public string kind;", "NamedItem fields"),
])
def test_a_change_on_the_csharp_side_is_caught(tmp_path, old, new, expected):
    text = PROTOCOL_CS.read_text()
    assert old in text
    copy = tmp_path / "CaptureProtocol.cs"
    copy.write_text(text.replace(old, new, 1))
    diffs = protocol_differences(read_csharp(copy.read_text()))
    assert any(expected in d for d in diffs), diffs


def test_a_change_on_the_python_side_is_caught():
    renamed = dict(protocol.REPLY_DEFAULTS)
    renamed["weatherType"] = renamed.pop("weather_type")
    fields = {op: dict(f) for op, f in protocol.REPLY_FIELDS.items()}
    changed = types.SimpleNamespace(**{k: getattr(protocol, k) for k in dir(protocol) if k.isupper()})
    changed.REPLY_DEFAULTS = renamed
    changed.REPLY_FIELDS = fields
    diffs = protocol_differences(read_csharp(PROTOCOL_CS.read_text()), changed)
    assert "reply field 'weather_type': in C# CaptureReply, not in Python REPLY_DEFAULTS" in diffs
    assert "reply field 'weatherType': in Python REPLY_DEFAULTS, not in C# CaptureReply" in diffs
    changed.REQUEST_FIELDS = {**protocol.REQUEST_FIELDS, "teleport": ("where",)}
    diffs = protocol_differences(read_csharp(PROTOCOL_CS.read_text()), changed, agent_ops(AGENT_CS.read_text()))
    assert any("request field 'where'" in d for d in diffs) and any(d.startswith("ops: ") for d in diffs)


# -- compiling the C# -------------------------------------------------------------------------------
def mcs(out: Path, sources: list[Path], *options: str, refs: tuple[Path, ...] = ()) -> subprocess.CompletedProcess:
    cmd = [MCS, "-nologo", "-warnaserror+", "-nowarn:414,649,169,67", *options, f"-out:{out}",
           *[f"-r:{r}" for r in refs], *map(str, sources)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def stub_assemblies(tmp_path_factory):
    if MCS is None:
        pytest.skip("Mono's C# compiler mcs is not installed (apt-get install mono-mcs)")
    out = tmp_path_factory.mktemp("stubs")
    engine, agents, unistorm = out / "UnityEngine.dll", out / "Unity.ML-Agents.dll", out / "UniStorm.dll"
    urp = out / "Unity.RenderPipelines.Universal.Runtime.dll"
    for dll, source, refs in ((engine, "UnityEngine.cs", ()), (agents, "MLAgents.cs", (engine,)),
                              (unistorm, "UniStorm.cs", (engine,)), (urp, "URP.cs", (engine,))):
        proc = mcs(dll, [STUBS / source], "-target:library", refs=refs)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return {"engine": engine, "agents": agents, "unistorm": unistorm, "urp": urp}


# Each project kind: the defines its asmdef's version defines set, and the assemblies it has.
VARIANTS = {
    "built-in": ((), ("engine", "agents")),
    "built-in+unistorm+editor": (("RDH_UNISTORM", "UNITY_EDITOR"), ("engine", "agents", "unistorm")),
    "urp": (("RDH_URP",), ("engine", "agents", "urp")),
    "urp+unistorm+editor": (("RDH_URP", "RDH_UNISTORM", "UNITY_EDITOR"), ("engine", "agents", "unistorm", "urp")),
}


@needs_mcs
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_package_compiles_against_the_stub_assemblies(stub_assemblies, tmp_path, variant):
    defines, assemblies = VARIANTS[variant]
    sources = sorted(RUNTIME.glob("*.cs"))
    options = ["-target:library"] + [f"-define:{d}" for d in defines]
    proc = mcs(tmp_path / "Rdh.Capture.dll", sources, *options, refs=tuple(stub_assemblies[a] for a in assemblies))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "Rdh.Capture.dll").stat().st_size > 10_000


@needs_mcs
def test_an_api_newer_than_2021_3_does_not_compile(stub_assemblies, tmp_path):
    copy = tmp_path / "Runtime"
    shutil.copytree(RUNTIME, copy)
    agent = copy / "CaptureAgent.cs"
    agent.write_text(agent.read_text().replace("FindObjectOfType<ViewpointRegistry>()",
                                               "FindFirstObjectByType<ViewpointRegistry>()"))
    proc = mcs(tmp_path / "Rdh.Capture.dll", sorted(copy.glob("*.cs")), "-target:library",
               refs=(stub_assemblies["engine"], stub_assemblies["agents"]))
    assert proc.returncode != 0 and "FindFirstObjectByType" in proc.stdout + proc.stderr


@needs_mcs
@pytest.mark.skipif(MONO is None, reason="the Mono runtime is not installed")
def test_plain_csharp_parts_behave_under_mono(tmp_path):
    exe = tmp_path / "pure.exe"
    pure = ("CaptureRules.cs", "GuardedSteps.cs", "MaskIds.cs", "MaskRules.cs", "MaskSelfCheck.cs", "SkySeeds.cs")
    proc = mcs(exe, [*(RUNTIME / name for name in pure), STUBS / "PureChecks.cs"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = subprocess.run([MONO, str(exe)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    got = dict(line.split(": ", 1) for line in run.stdout.splitlines())
    assert got["folder relative"] == "CaptureException: capture folder 'staging/w0' is not an absolute path"
    assert got["folder absolute"] == "ok" and got["name plain"] == "ok"
    for case in ("name dotdot", "name backslash", "name parent"):
        assert got[case].endswith("must be a plain file name, without a folder"), case
    assert got["size big"] == "CaptureException: capture size 64x8193 is out of 1..8192"
    assert got["time good"] == "ok 7 5" and got["time short"].endswith("is not HH:MM")
    assert got["time late"].endswith("is not HH:MM") and got["settle negative"].startswith("CaptureException")
    # An exception two frames into a nested step ends that request only, with its message...
    assert got["guarded frames"] == "2"
    assert got["guarded log"] == "outer 1 | inner 1 | inner 2"
    assert got["guarded errors"] == "InvalidOperationException: failed in frame 2"
    # ... and the next request runs as usual.
    assert got["next request frames"] == "1 log: fine 1 | fine 2 errors: 0"
    # Only the pixel with the foreground's id in both passes is foreground; a pixel showing the first
    # id in both passes (a lit surface of that colour) is not.
    assert got["select count"] == "1"
    assert got["select mask"] == "255,255,255,0,0,0,0,0,0,0,0,0"
    assert got["id round trip"] == f"{0xFFFFFE} 1 42"
    assert got["select sizes"].startswith("ArgumentException")
    # A pixel whose id changes between the passes although it is not the foreground is counted.
    assert got["select disagree"] == "1 1"
    check_mask_rules(got)
    check_self_check(got)
    check_sky_seeds(got)


def check_mask_rules(got: dict[str, str]) -> None:
    # Background-queue materials (sky domes, clouds, stars, sun, moon) are left out; Geometry on is kept.
    assert got["queue background"] == "True True False False False"
    assert got["role hidden layer"] == "NotDrawn" and got["role foreground"] == "Foreground"
    assert got["role other layer"] == "LeftOut" and got["role effect"] == "LeftOut Id"
    assert got["role sparks of foreground"] == "LeftOut" and got["role sky dome"] == "LeftOut"
    assert got["role own material"] == "OwnMaterial" and got["role occluder"] == "Id"
    # _Cull 0, 1; nothing said: back; _CullMode 0; _Cull wins over _CullMode; out of range: back; sprite; listed shader
    assert got["cull"] == "0 1 2 0 2 2 0 0"
    assert got["pipelines"] == "BuiltIn Universal Unsupported"
    assert got["renderer urp dedicated"].startswith("1 URP: renderer 1 of the pipeline asset's Renderer List")
    # The hello reply of docs/unity.md says what this player's self-check says with renderer 1.
    documented = json.loads(doc_block("docs/unity.md", "hello reply"))["mask_check"]
    assert documented == got["renderer urp dedicated"][2:] + ": a test square read back exactly"
    assert got["renderer urp default"] == "-1 URP: the default renderer, 3 renderer feature(s) switched off around the id passes"
    assert got["renderer builtin"].startswith("-1 built-in pipeline: a bare camera")
    assert got["renderer hdrp"] == ("CaptureException: the render pipeline HDRenderPipelineAsset is not supported by the "
                                    "mask pass: use the built-in pipeline or URP")


def check_self_check(got: dict[str, str]) -> None:
    assert got["self-check ok"] == "[]" and got["self-check edge ignored"] == "[]"
    head = "mask self-check failed (test renderer): a test square drawn in ids 3C5A78/3C5A79 read back right on "
    assert got["self-check missing urp"].startswith(head + "0 of 196 pixels, was missing on 196, and 0 of 700 background")
    assert "URP depth priming" in got["self-check missing urp"] and "Depth Priming Mode is Disabled" in got["self-check missing urp"]
    assert "Rdh/MaskUnlit shader in the build" in got["self-check missing builtin"]
    assert "700 of 700 background pixels were not the background id 0" in got["self-check fog"]
    assert "a renderer feature (fog, cloud shadows" in got["self-check fog"]
    assert "showed other ids on 196 (e.g. 2A3F54/2A3F54" in got["self-check shadows"]
    assert "the id colours were changed: a renderer feature or post-processing" in got["self-check shadows"]
    assert "went through an sRGB conversion" in got["self-check srgb"]
    assert got["self-check dithered background"].startswith(head + "196 of 196 pixels")
    assert "a command buffer or image effect" in got["self-check dithered background"]
    assert got["self-check size"] == "mask self-check: the id passes read back 8 and 8 bytes instead of 4096"


def check_sky_seeds(got: dict[str, str]) -> None:
    from unity_bridge.testing.frames import COVERAGE_SALT, MOON_SALT, sky_unit

    # The stand-in player's sky draws exactly what SkySeeds draws in Unity.
    pairs = [pair.split("/") for pair in got["sky units"].split()]
    for seed, (coverage, moon) in zip((0, 1, 7, 123456789, 2**31 - 1, -5), pairs):
        assert float(coverage) == sky_unit(seed, COVERAGE_SALT) and float(moon) == sky_unit(seed, MOON_SALT), seed
    assert got["sky ranges"] == "True 8 -1 0.25"     # within the range; all 8 phases drawn; no phases; empty range


def test_upgrade_from_a_package_without_metas_keeps_script_and_assembly_references(tmp_path):
    from unity_bridge.package_meta import main

    old = tmp_path / "Packages" / "com.rdh.capture"
    (old / "Runtime" / "Shaders").mkdir(parents=True)
    for rel, guid in (("Runtime/CaptureAgent.cs", "ab"), ("Runtime/Shaders/RdhMaskUnlit.shader", "cd"),
                      ("Runtime/Rdh.Capture.asmdef", "12")):
        (old / f"{rel}.meta").write_text("fileFormatVersion: 2\nguid: " + guid * 16 + "\n")
    scene = tmp_path / "Assets" / "Bootstrap.unity"
    scene.parent.mkdir()
    scene.write_text("MonoBehaviour:\n  m_Script: {fileID: 11500000, guid: " + "ab" * 16 + ", type: 3}\n"
                     "  maskShader: {fileID: 4800000, guid: " + "cd" * 16 + ", type: 3}\n"
                     "  other: {fileID: 1, guid: " + "ef" * 16 + ", type: 2}\n")
    asmdef = tmp_path / "Assets" / "Scripts" / "MyGame.asmdef"
    asmdef.parent.mkdir()
    asmdef.write_text(json.dumps({"name": "MyGame", "references": ["GUID:" + "12" * 16, "GUID:" + "34" * 16]}))
    asmref = tmp_path / "Assets" / "Extras" / "Extras.asmref"
    asmref.parent.mkdir()
    asmref.write_text(json.dumps({"reference": "GUID:" + "12" * 16}))
    assert main(["--migrate", str(old), str(tmp_path / "Assets")]) == 0
    text = scene.read_text()
    assert f"guid: {guid_of('Runtime/CaptureAgent.cs')}, type: 3" in text
    assert f"guid: {guid_of('Runtime/Shaders/RdhMaskUnlit.shader')}, type: 3" in text
    assert "guid: " + "ef" * 16 in text and "ab" * 16 not in text
    assembly = guid_of("Runtime/Rdh.Capture.asmdef")
    assert json.loads(asmdef.read_text())["references"] == ["GUID:" + assembly, "GUID:" + "34" * 16]
    assert json.loads(asmref.read_text()) == {"reference": "GUID:" + assembly}


# -- the optional extra ----------------------------------------------------------------------------
def test_unity_extra_check_says_what_to_install():
    from rdhcore.errors import RdhError
    from unity_bridge.extra import require_unity_extra

    with pytest.raises(RdhError, match=r"runs on Python 3.10 and 3.11 only \(this is Python 3.12\): make a "
                                       r"Python 3.11 environment and, in the rdh checkout, run pip install -e '\.\[unity\]'"):
        require_unity_extra(python=(3, 12))

    def missing(name):
        raise ModuleNotFoundError(f"No module named {name.split('.')[0]!r}")
    with pytest.raises(RdhError, match=r"needs the Unity extra .*Python < 3.12.*: in the rdh checkout, run pip install -e '\.\[unity\]'"):
        require_unity_extra(python=(3, 11), importer=missing)
    def new_protobuf(name):
        raise TypeError("Descriptors cannot be created directly.\nIf this call came from a _pb2.py file...")
    with pytest.raises(RdhError, match=r"cannot load with the installed protobuf \(Descriptors cannot be created "
                                       r"directly.\): in the rdh checkout, run pip install -e '\.\[unity\]' \(it brings protobuf<=3.20.3"):
        require_unity_extra(python=(3, 11), importer=new_protobuf)
    old_numpy = type("numpy", (), {"__version__": "1.26.4"})
    with pytest.raises(RdhError, match=r"np.bool, which numpy 1.26.4 lacks"):
        require_unity_extra(python=(3, 11), importer=lambda name: old_numpy)


def test_cli_without_the_extra_gives_one_line(tmp_path):
    import subprocess
    import sys

    build = tmp_path / "City.x86_64"
    build.write_text("#!/bin/sh\nexit 1\n")
    build.chmod(0o755)
    # mlagents_envs as if not installed: None in sys.modules makes every import of it fail.
    code = ("import sys; sys.modules['mlagents_envs'] = None; from rdh.cli import main; "
            f"sys.argv = ['rdh', 'render-scenes', {str(tmp_path / 'out')!r}, '--engine', 'unity', "
            f"'--unity-build', {str(build)!r}]; main()")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert lines[0].startswith("rdh: error: --engine unity needs the Unity extra")
    assert lines[0].endswith("in the rdh checkout, run pip install -e '.[unity]'")
    assert not (tmp_path / "out").exists()


def test_unity_pins_apply_only_to_the_unity_extra_and_below_python_3_12():
    tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python 3.11")
    requirements = pytest.importorskip("packaging.requirements", reason="the packaging library is not installed")
    project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]
    core = {requirements.Requirement(r).name for r in project["dependencies"]}
    assert not core & {"mlagents-envs", "protobuf", "grpcio"}
    unity = [requirements.Requirement(r) for r in project["optional-dependencies"]["unity"]]
    assert {r.name: str(r.specifier) for r in unity if r.name != "grpcio"} == \
        {"mlagents-envs": "==0.28.0", "numpy": ">=2", "protobuf": "<=3.20.3"}
    for python, wanted in (("3.10", True), ("3.11", True), ("3.12", False), ("3.13", False)):
        env = {"python_version": python, "python_full_version": f"{python}.0"}
        assert [r.marker.evaluate(env) for r in unity] == [wanted] * len(unity), python


def test_no_document_or_message_installs_rdh_from_pypi():
    # rdh is not on PyPI (the name may belong to someone else): the Unity extra comes from the checkout.
    root = Path(__file__).resolve().parents[1]
    files = [root / "README.md", *sorted((root / "docs").glob("*.md")), *sorted((root / "unity_bridge").rglob("*.py")),
             *sorted((root / "unity_bridge").rglob("*.md")), *sorted((root / "datagen").rglob("*.py")),
             *sorted((root / "rdh").rglob("*.py"))]
    found = [f"{p.relative_to(root)}:{i}" for p in files for i, line in enumerate(p.read_text().splitlines(), 1)
             if re.search(r"pip install\s+['\"]?rdh\[unity\]", line)]
    assert found == []


def test_the_documented_unistorm_assembly_definitions_reference_ui_and_urp():
    unistorm = json.loads(doc_block("docs/unity.md", "UniStorm.asmdef"))
    assert unistorm["name"] == "UniStorm"           # the name rdh's assembly references
    assert {"UnityEngine.UI", "Unity.RenderPipelines.Core.Runtime", "Unity.RenderPipelines.Universal.Runtime"} <= \
        set(unistorm["references"])
    assert "UniStorm" in json.loads((RUNTIME / "Rdh.Capture.asmdef").read_text())["references"]
    editor = json.loads(doc_block("docs/unity.md", "UniStorm.Editor.asmdef"))
    assert editor["references"] == ["UniStorm"] and editor["includePlatforms"] == ["Editor"]


def test_the_documented_hello_reply_is_a_valid_reply_of_this_protocol():
    reply = json.loads(doc_block("docs/unity.md", "hello reply"))
    assert set(reply) == {"v", "id", "op", "ok", "error"} | set(protocol.REPLY_FIELDS["hello"])
    checked = protocol.check_reply({**protocol.REPLY_DEFAULTS, **reply}, "hello")
    assert (checked["v"], checked["version"], checked["package_version"]) == \
        (protocol.PROTOCOL_VERSION, protocol.PROTOCOL_VERSION, protocol.PACKAGE_VERSION)
    assert (checked["sky"], checked["weather_types"], checked["controller"]) == ("pending", [], "unistorm")
