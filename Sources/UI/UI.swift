/// The operator UI (SPEC §7): HTTP, the live dashboard over SSE, approvals.
/// It lands with the UI issue; this target fixes its place in the layers.
public enum UI {
    public static let service = "ui"
}
