"""The built-in render engine on Mitsuba 3: procedural scenes, 10 lighting styles, exact masks.

    from datagen.builtin import BuiltinEngine          # the engine behind `rdh render-scenes`
    from datagen.builtin import render_plan, plan_from_scene, activate_variant

Modules: `plan` (seeded, serializable scene plans), `assets`/`foregrounds`/`props`/`meshes`/
`textures` (procedural geometry and materials), `lighting` (styles -> sky, sun, clouds, night
lights; exposure and tone mapping), `mitsuba_scene` (plan -> Mitsuba scenes, rendered style by
style), `masks` (exact foreground masks), `denoise` (Open Image Denoise), `variant` (scalar or
LLVM, never libLLVM 15), `scene_render` (one scene), `engine` (the engine of `datagen.render`:
scenes in this process, in worker processes, or as tasks). Mitsuba is imported only when
something renders.
"""
from __future__ import annotations

from datagen.builtin.engine import BuiltinEngine
from datagen.builtin.plan import PlanOptions, ScenePlan, draw_plan
from datagen.builtin.scene_render import plan_from_scene, render_plan
from datagen.builtin.variant import activate as activate_variant
from datagen.builtin.variant import choose_variant

__all__ = ["BuiltinEngine", "render_plan", "plan_from_scene", "draw_plan", "ScenePlan", "PlanOptions",
           "activate_variant", "choose_variant"]
