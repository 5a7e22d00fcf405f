/// The supervisor (SPEC §5–6): desired state, drift and action proposals.
/// It lands with the supervisor issue; this target fixes its place in the layers.
public enum Supervisor {
    public static let service = "supervisor"
}
