/// The executor (SPEC §6): runs approved actions exactly once.
/// It lands with the executor issue; this target fixes its place in the layers.
public enum Executor {
    public static let service = "executor"
}
