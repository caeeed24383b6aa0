using System;
using System.Collections.Generic;

namespace Rdh.Capture
{
    /// <summary>
    /// Judges the mask pass's self-check: a known object (a square in the middle of a small target)
    /// drawn twice by the mask camera, in <see cref="FirstId"/> and then <see cref="SecondId"/>, on the
    /// cleared background id 0. Every pixel well inside the square must read back the ids exactly,
    /// every pixel well outside it the background; a one-pixel margin along the edge is not judged
    /// (rasterization). A mismatch is described with its counts and the likely cause, so that a
    /// renderer feature, depth priming, post-processing or a colour-space conversion stops the run with
    /// a message instead of making bad masks. Plain C#, so the tests run it under Mono.
    /// </summary>
    public static class MaskSelfCheck
    {
        // Mid-range bytes, so that an sRGB conversion or a blend changes them visibly.
        public const int FirstId = 0x3C5A78;
        public const int SecondId = 0x3C5A79;
        public const int Size = 32;             // the target is Size x Size
        public const int SquareStart = 8;       // the square covers [8, 24) in both directions
        public const int SquareEnd = 24;
        public const int Margin = 1;

        /// <summary>"" when both passes read back as drawn; else the message of the error reply.</summary>
        public static string Diagnose(byte[] first, byte[] second, int stride, PipelineKind kind, string renderer)
        {
            if (first == null || second == null || first.Length != second.Length || first.Length != Size * Size * stride)
            {
                return $"mask self-check: the id passes read back {Len(first)} and {Len(second)} bytes instead of {Size * Size * stride}";
            }
            int inside = 0, exact = 0, missing = 0, converted = 0, outside = 0, painted = 0;
            var other = new List<string>();
            for (var y = 0; y < Size; y++)
            {
                for (var x = 0; x < Size; x++)
                {
                    var p = (y * Size + x) * stride;
                    var a = MaskIds.FromBytes(first[p], first[p + 1], first[p + 2]);
                    var b = MaskIds.FromBytes(second[p], second[p + 1], second[p + 2]);
                    var region = Region(x, y);
                    if (region > 0)
                    {
                        inside++;
                        if (a == FirstId && b == SecondId)
                        {
                            exact++;
                        }
                        else if (a == MaskIds.Background && b == MaskIds.Background)
                        {
                            missing++;
                        }
                        else
                        {
                            if (IsConverted(a, FirstId) && IsConverted(b, SecondId))
                            {
                                converted++;
                            }
                            if (other.Count < 3)
                            {
                                other.Add($"{a:X6}/{b:X6}");
                            }
                        }
                    }
                    else if (region < 0)
                    {
                        outside++;
                        if (a != MaskIds.Background || b != MaskIds.Background)
                        {
                            painted++;
                        }
                    }
                }
            }
            if (exact == inside && painted == 0)
            {
                return "";
            }
            var counts = $"mask self-check failed ({renderer}): a test square drawn in ids {FirstId:X6}/{SecondId:X6} read back " +
                         $"right on {exact} of {inside} pixels, was missing on {missing}" +
                         (other.Count > 0 ? $", showed other ids on {inside - exact - missing} (e.g. {string.Join(", ", other.ToArray())})" : "") +
                         $", and {painted} of {outside} background pixels were not the background id 0";
            return counts + ": " + Cause(kind, inside, exact, missing, converted, painted);
        }

        /// <summary>1 well inside the square, -1 well outside it, 0 on its edge.</summary>
        static int Region(int x, int y)
        {
            if (WellInside(x) && WellInside(y))
            {
                return 1;
            }
            return WellOutside(x) || WellOutside(y) ? -1 : 0;
        }

        static bool WellInside(int v)
        {
            return v >= SquareStart + Margin && v < SquareEnd - Margin;
        }

        static bool WellOutside(int v)
        {
            return v < SquareStart - Margin || v >= SquareEnd + Margin;
        }

        static string Cause(PipelineKind kind, int inside, int exact, int missing, int converted, int painted)
        {
            var urp = kind == PipelineKind.Universal;
            if (converted > 0 && converted == inside - exact - missing)
            {
                return "the ids went through an sRGB conversion (the id target or its read-back is not linear): report this as a bug of the rdh package";
            }
            if (missing == inside && painted == 0)
            {
                return urp
                    ? "the id shader's objects were not drawn: URP depth priming (Depth Priming Mode Forced, or Auto with a depth prepass) or a renderer that skips the SRPDefaultUnlit pass; render the mask with a renderer whose Depth Priming Mode is Disabled and that has no features (CaptureAgent > Mask > Urp Mask Renderer, docs/unity.md)"
                    : "the id shader's objects were not drawn: is the Rdh/MaskUnlit shader in the build (the CaptureAgent's Mask Shader field keeps it)?";
            }
            if (painted > 0)
            {
                return urp
                    ? "something draws over the id target after the opaque pass: a renderer feature (fog, cloud shadows, SSAO, decals, Render Objects, a full-screen pass) or post-processing; render the mask with a renderer without features (CaptureAgent > Mask > Urp Mask Renderer), or list the renderer under Urp Features Off (docs/unity.md)"
                    : "something draws over the id target: a command buffer or image effect that a script adds to every camera (Camera.onPreRender, Camera.onPostRender), or a global post-processing hook; disable it for the mask camera";
            }
            return urp
                ? "the id colours were changed: a renderer feature or post-processing (fog, colour grading, dithering, SSAO) touches the id pass; render the mask with a renderer without features (CaptureAgent > Mask > Urp Mask Renderer, docs/unity.md)"
                : "the id colours were changed: an image effect, fog or a command buffer touches the mask camera";
        }

        static int Len(byte[] data)
        {
            return data == null ? 0 : data.Length;
        }

        /// <summary>Whether <paramref name="shown"/> is <paramref name="id"/> passed through an sRGB
        /// encoding or decoding (each byte within one of the converted value).</summary>
        public static bool IsConverted(int shown, int id)
        {
            return Matches(shown, id, true) || Matches(shown, id, false);
        }

        static bool Matches(int shown, int id, bool encode)
        {
            for (var shift = 0; shift <= 16; shift += 8)
            {
                var want = Convert((byte)((id >> shift) & 0xFF), encode);
                if (Math.Abs(((shown >> shift) & 0xFF) - want) > 1)
                {
                    return false;
                }
            }
            return true;
        }

        /// <summary>A byte through the sRGB transfer function: encode (linear to sRGB) or decode.</summary>
        public static int Convert(byte value, bool encode)
        {
            var c = value / 255.0;
            double r;
            if (encode)
            {
                r = c <= 0.0031308 ? 12.92 * c : 1.055 * Math.Pow(c, 1.0 / 2.4) - 0.055;
            }
            else
            {
                r = c <= 0.04045 ? c / 12.92 : Math.Pow((c + 0.055) / 1.055, 2.4);
            }
            return (int)Math.Round(r * 255.0);
        }
    }
}
