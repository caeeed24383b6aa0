// Runs the package's plain-C# parts (CaptureRules, GuardedSteps, MaskIds, MaskRules, MaskSelfCheck,
// SkySeeds) under Mono and prints one
// "name: result" line per case; tests/test_unity_package.py compares the lines with what it expects.
using System;
using System.Collections;
using System.Collections.Generic;
using Rdh.Capture;

public static class PureChecks
{
    static string Try(Action action)
    {
        try
        {
            action();
            return "ok";
        }
        catch (Exception e)
        {
            return e.GetType().Name + ": " + e.Message;
        }
    }

    static IEnumerator Inner(List<string> log)
    {
        log.Add("inner 1");
        yield return null;
        log.Add("inner 2");
        throw new InvalidOperationException("failed in frame 2");
    }

    static IEnumerator Outer(List<string> log)
    {
        log.Add("outer 1");
        yield return null;
        yield return Inner(log);
        log.Add("outer after inner");  // never reached
    }

    static IEnumerator Fine(List<string> log)
    {
        log.Add("fine 1");
        yield return null;
        log.Add("fine 2");
    }

    static int Drive(IEnumerator routine)
    {
        var frames = 0;
        while (routine.MoveNext())
        {
            frames++;
        }
        return frames;
    }


    static string Cull(Dictionary<string, float> properties, bool sprite = false, bool listed = false)
    {
        return MaskRules.Cull(name => properties.ContainsKey(name) ? properties[name] : (float?)null, sprite, listed).ToString();
    }

    // A self-check read-back: the square's pixels get (first, second), the rest (outside, outside).
    static byte[][] Probe(int first, int second, int outside, int outsideSecond)
    {
        var n = MaskSelfCheck.Size;
        var a = new byte[n * n * 4];
        var b = new byte[n * n * 4];
        for (var y = 0; y < n; y++)
        {
            for (var x = 0; x < n; x++)
            {
                var inSquare = x >= MaskSelfCheck.SquareStart && x < MaskSelfCheck.SquareEnd &&
                               y >= MaskSelfCheck.SquareStart && y < MaskSelfCheck.SquareEnd;
                Put(a, (y * n + x) * 4, inSquare ? first : outside);
                Put(b, (y * n + x) * 4, inSquare ? second : outsideSecond);
            }
        }
        return new[] { a, b };
    }

    static void Put(byte[] buffer, int p, int id)
    {
        byte r, g, bl;
        MaskIds.ToBytes(id, out r, out g, out bl);
        buffer[p] = r;
        buffer[p + 1] = g;
        buffer[p + 2] = bl;
        buffer[p + 3] = 255;
    }

    static int Srgb(int id)
    {
        return (MaskSelfCheck.Convert((byte)(id >> 16), true) << 16) | (MaskSelfCheck.Convert((byte)(id >> 8), true) << 8) |
               MaskSelfCheck.Convert((byte)id, true);
    }

    static string Diagnose(byte[][] passes, PipelineKind kind)
    {
        return MaskSelfCheck.Diagnose(passes[0], passes[1], 4, kind, "test renderer");
    }

    static void MaskRuleChecks()
    {
        Console.WriteLine("queue background: " + MaskRules.IsBackgroundQueue(1000) + " " + MaskRules.IsBackgroundQueue(1999) + " " +
                          MaskRules.IsBackgroundQueue(2000) + " " + MaskRules.IsBackgroundQueue(2450) + " " + MaskRules.IsBackgroundQueue(3000));
        // visible, foreground, occluder layer, effect, effects occlude, inside foreground, all background, own material
        Console.WriteLine("role hidden layer: " + MaskRules.Role(false, true, true, false, false, false, false, false));
        Console.WriteLine("role foreground: " + MaskRules.Role(true, true, false, false, false, false, false, false));
        Console.WriteLine("role other layer: " + MaskRules.Role(true, false, false, false, false, false, false, false));
        Console.WriteLine("role effect: " + MaskRules.Role(true, false, true, true, false, false, false, false) + " " +
                          MaskRules.Role(true, false, true, true, true, false, false, false));
        Console.WriteLine("role sparks of foreground: " + MaskRules.Role(true, false, true, true, true, true, false, false));
        Console.WriteLine("role sky dome: " + MaskRules.Role(true, false, true, false, false, false, true, true));
        Console.WriteLine("role own material: " + MaskRules.Role(true, false, true, false, false, false, false, true));
        Console.WriteLine("role occluder: " + MaskRules.Role(true, false, true, false, false, false, false, false));
        Console.WriteLine("cull: " + string.Join(" ", new[] {
            Cull(new Dictionary<string, float> { { "_Cull", 0f } }), Cull(new Dictionary<string, float> { { "_Cull", 1f } }),
            Cull(new Dictionary<string, float>()), Cull(new Dictionary<string, float> { { "_CullMode", 0f } }),
            Cull(new Dictionary<string, float> { { "_Cull", 2f }, { "_CullMode", 0f } }), Cull(new Dictionary<string, float> { { "_Cull", 7f } }),
            Cull(new Dictionary<string, float>(), true), Cull(new Dictionary<string, float> { { "_Cull", 2f } }, false, true) }));
        Console.WriteLine("pipelines: " + MaskRules.Classify(null) + " " + MaskRules.Classify("UniversalRenderPipelineAsset") + " " +
                          MaskRules.Classify("HDRenderPipelineAsset"));
        string d1, d2, d3;
        var i1 = MaskRules.MaskRenderer(PipelineKind.Universal, "UniversalRenderPipelineAsset", 1, 0, out d1);
        var i2 = MaskRules.MaskRenderer(PipelineKind.Universal, "UniversalRenderPipelineAsset", -1, 3, out d2);
        var i3 = MaskRules.MaskRenderer(PipelineKind.BuiltIn, "", 4, 0, out d3);
        Console.WriteLine("renderer urp dedicated: " + i1 + " " + d1);
        Console.WriteLine("renderer urp default: " + i2 + " " + d2);
        Console.WriteLine("renderer builtin: " + i3 + " " + d3);
        Console.WriteLine("renderer hdrp: " + Try(() => { string d; MaskRules.MaskRenderer(PipelineKind.Unsupported, "HDRenderPipelineAsset", 0, 0, out d); }));
    }

    static void SelfCheckChecks()
    {
        int A = MaskSelfCheck.FirstId, B = MaskSelfCheck.SecondId;
        Console.WriteLine("self-check ok: [" + Diagnose(Probe(A, B, 0, 0), PipelineKind.Universal) + "]");
        Console.WriteLine("self-check missing urp: " + Diagnose(Probe(0, 0, 0, 0), PipelineKind.Universal));
        Console.WriteLine("self-check missing builtin: " + Diagnose(Probe(0, 0, 0, 0), PipelineKind.BuiltIn));
        Console.WriteLine("self-check fog: " + Diagnose(Probe(0x4A6680, 0x4A6681, 0x8090A0, 0x8090A0), PipelineKind.Universal));
        Console.WriteLine("self-check shadows: " + Diagnose(Probe(0x2A3F54, 0x2A3F54, 0, 0), PipelineKind.Universal));
        Console.WriteLine("self-check srgb: " + Diagnose(Probe(Srgb(A), Srgb(B), 0, 0), PipelineKind.BuiltIn));
        Console.WriteLine("self-check dithered background: " + Diagnose(Probe(A, B, 0x000001, 0), PipelineKind.BuiltIn));
        Console.WriteLine("self-check size: " + MaskSelfCheck.Diagnose(new byte[8], new byte[8], 4, PipelineKind.BuiltIn, "r"));
        var edge = Probe(A, B, 0, 0);
        Put(edge[0], (MaskSelfCheck.SquareStart * MaskSelfCheck.Size + MaskSelfCheck.SquareStart) * 4, 0);   // a corner pixel
        Console.WriteLine("self-check edge ignored: [" + Diagnose(edge, PipelineKind.BuiltIn) + "]");
    }

    static void SkySeedChecks()
    {
        var units = new List<string>();
        foreach (var seed in new[] { 0, 1, 7, 123456789, int.MaxValue, -5 })
        {
            units.Add(SkySeeds.Unit(seed, SkySeeds.CoverageSalt).ToString("R") + "/" + SkySeeds.Unit(seed, SkySeeds.MoonSalt).ToString("R"));
        }
        Console.WriteLine("sky units: " + string.Join(" ", units.ToArray()));
        var inRange = true;
        var phases = new HashSet<int>();
        for (var seed = 0; seed < 1000; seed++)
        {
            var c = SkySeeds.Between(seed, SkySeeds.CoverageSalt, 0.44f, 0.47f);
            inRange &= c >= 0.44f && c <= 0.47f;
            phases.Add(SkySeeds.Index(seed, SkySeeds.MoonSalt, 8));
        }
        Console.WriteLine("sky ranges: " + inRange + " " + phases.Count + " " + SkySeeds.Index(3, 2, 0) + " " + SkySeeds.Between(3, 1, 0.25f, 0.25f));
    }

    public static void Main()
    {
        Console.WriteLine("folder relative: " + Try(() => CaptureRules.Folder("staging/w0")));
        Console.WriteLine("folder empty: " + Try(() => CaptureRules.Folder("")));
        Console.WriteLine("folder absolute: " + Try(() => CaptureRules.Folder("/tmp/rdh/staging")));
        Console.WriteLine("name plain: " + Try(() => CaptureRules.PlainFileName("01.png")));
        Console.WriteLine("name dotdot: " + Try(() => CaptureRules.PlainFileName("../01.png")));
        Console.WriteLine("name backslash: " + Try(() => CaptureRules.PlainFileName("a\\01.png")));
        Console.WriteLine("name parent: " + Try(() => CaptureRules.PlainFileName("..")));
        Console.WriteLine("size zero: " + Try(() => CaptureRules.Size(0, 64)));
        Console.WriteLine("size big: " + Try(() => CaptureRules.Size(64, 8193)));
        Console.WriteLine("settle negative: " + Try(() => CaptureRules.Settle(-1, 0f)));
        int hour = -1, minute = -1;
        Console.WriteLine("time good: " + Try(() => CaptureRules.ParseTime("07:05", out hour, out minute)) + " " + hour + " " + minute);
        Console.WriteLine("time short: " + Try(() => CaptureRules.ParseTime("7:05", out hour, out minute)));
        Console.WriteLine("time late: " + Try(() => CaptureRules.ParseTime("24:00", out hour, out minute)));

        var log = new List<string>();
        var errors = new List<string>();
        var frames = Drive(GuardedSteps.Run(Outer(log), e => errors.Add(e.GetType().Name + ": " + e.Message)));
        Console.WriteLine("guarded frames: " + frames);
        Console.WriteLine("guarded log: " + string.Join(" | ", log.ToArray()));
        Console.WriteLine("guarded errors: " + string.Join(" | ", errors.ToArray()));
        log.Clear();
        errors.Clear();
        frames = Drive(GuardedSteps.Run(Fine(log), e => errors.Add(e.Message)));
        Console.WriteLine("next request frames: " + frames + " log: " + string.Join(" | ", log.ToArray()) + " errors: " + errors.Count);

        // Four pixels, RGBA: foreground in both passes; the first id in both passes (a lit terrain or
        // grass pixel that happens to have that colour); background; the foreground hidden by id 7.
        byte r1, g1, b1, r2, g2, b2;
        MaskIds.ToBytes(MaskIds.ForegroundFirst, out r1, out g1, out b1);
        MaskIds.ToBytes(MaskIds.ForegroundSecond, out r2, out g2, out b2);
        var first = new byte[] { r1, g1, b1, 255, r1, g1, b1, 255, 0, 0, 0, 255, 0, 0, 7, 255 };
        var second = new byte[] { r2, g2, b2, 255, r1, g1, b1, 255, 0, 0, 0, 255, 0, 0, 7, 255 };
        var mask = new byte[12];
        var count = MaskIds.Select(first, second, 4, mask);
        Console.WriteLine("select count: " + count);
        Console.WriteLine("select mask: " + string.Join(",", Array.ConvertAll(mask, b => b.ToString())));
        Console.WriteLine("id round trip: " + MaskIds.FromBytes(r1, g1, b1) + " " + MaskIds.OccluderId(0) + " " + MaskIds.OccluderId(41));
        Console.WriteLine("select sizes: " + Try(() => MaskIds.Select(first, new byte[8], 4, mask)));
        // The same pixels, plus one whose id changes between the passes although it is not the foreground.
        var firstMore = new byte[] { r1, g1, b1, 255, 0, 0, 9, 255, 0, 0, 0, 255 };
        var secondMore = new byte[] { r2, g2, b2, 255, 0, 0, 8, 255, 0, 0, 0, 255 };
        int disagree;
        var countMore = MaskIds.Select(firstMore, secondMore, 4, new byte[9], out disagree);
        Console.WriteLine("select disagree: " + countMore + " " + disagree);
        MaskRuleChecks();
        SelfCheckChecks();
        SkySeedChecks();
    }
}
