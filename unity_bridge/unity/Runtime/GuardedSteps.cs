using System;
using System.Collections;
using System.Collections.Generic;

namespace Rdh.Capture
{
    /// <summary>
    /// Runs a coroutine (nested enumerators included) one step per frame and catches an exception
    /// at every step. Unity's own nesting lets an exception thrown after the first frame end the
    /// outer coroutine, which for the agent meant that no later request was ever answered.
    /// Plain C#, so the tests run it under Mono.
    /// </summary>
    public static class GuardedSteps
    {
        /// <summary>Yield what <paramref name="steps"/> yields; on an exception call <paramref name="onError"/> and stop.</summary>
        public static IEnumerator Run(IEnumerator steps, Action<Exception> onError)
        {
            var stack = new Stack<IEnumerator>();
            stack.Push(steps);
            while (stack.Count > 0)
            {
                object current;
                try
                {
                    if (!stack.Peek().MoveNext())
                    {
                        stack.Pop();
                        continue;
                    }
                    current = stack.Peek().Current;
                }
                catch (Exception e)
                {
                    onError(e);
                    yield break;
                }
                var nested = current as IEnumerator;
                if (nested != null)
                {
                    stack.Push(nested);  // run it here, guarded, instead of handing it to Unity
                    continue;
                }
                yield return current;
            }
        }
    }
}
