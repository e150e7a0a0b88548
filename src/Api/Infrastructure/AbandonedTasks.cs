namespace Api.Infrastructure;

/// <summary>
/// For work that outlives the callers waiting on it (a shared fetch whose waiters hung up, a probe that stopped
/// waiting): its failure is then nobody's to observe, and the runtime would report it as an unobserved task exception
/// when the task is collected. Whoever still waits gets the failure as before.
/// </summary>
public static class AbandonedTasks
{
    public static TTask ObserveFailure<TTask>(this TTask task) where TTask : Task
    {
        task.ContinueWith(static done => _ = done.Exception, CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return task;
    }
}
