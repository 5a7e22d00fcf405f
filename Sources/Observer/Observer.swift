/// The observer (SPEC §3–4): inbox → append-only event log → world state.
/// Its ingest path lands with the observer issue; this target fixes its place in the layers.
public enum Observer {
    public static let service = "observer"
}
