// Runs the package's plain-C# parts (CaptureRules, GuardedSteps, MaskIds) under Mono and prints one
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
    }
}
