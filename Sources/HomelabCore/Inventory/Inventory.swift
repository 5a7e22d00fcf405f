#if canImport(Glibc)
import Glibc
#endif
import FSWatch

/// A problem with one inventory file: reported, and the rest is still used.
public struct InventoryProblem: Sendable, Equatable, CustomStringConvertible {
    public struct Reason: Error, Sendable, Equatable, ExpressibleByStringInterpolation, CustomStringConvertible {
        public let description: String
        public init(stringLiteral value: String) { description = value }
        public init(stringInterpolation: DefaultStringInterpolation) { description = String(stringInterpolation: stringInterpolation) }
    }

    public let file: String
    public let reason: String
    public var description: String { "\(file): \(reason)" }
}

/// The desired state and the action catalog, read from the repository (SPEC §5).
public struct Inventory: Sendable {
    public var resources: [Subject: DesiredResource] = [:]
    public var catalog: [String: CatalogEntry] = [:]
    /// The notifier's targets (`notify/NAME.json`), by name.
    public var notify: [String: NotifyTarget] = [:]
    public var problems: [InventoryProblem] = []

    public init() {}

    public struct Missing: Error, CustomStringConvertible {
        public let description: String
    }

    /// Whether any entry of the catalog in `folder` has `runsOn` (read as it is now).
    public static func catalogHasRunsOn(_ folder: String) -> Bool {
        listDirectory(folder + "/actions").contains { entry in
            entry.name.hasSuffix(".json") && !entry.name.hasPrefix(".")
                && (try? CatalogEntry.load(name: String(entry.name.dropLast(5)), inventory: folder).get())?.runsOn != nil
        }
    }

    /// Reads `folder` (`resources/**/*.json`, `actions/*.json` and `notify/*.json`). A missing folder is an
    /// error; a bad file is a problem, and the rest is still loaded.
    public static func load(_ folder: String) throws(Missing) -> Inventory {
        guard fileKind(folder) == .directory else {
            throw Missing(description: "the inventory folder \(folder) does not exist (set HOMELAB_INVENTORY or HOMELAB_REPO)")
        }
        var inventory = Inventory()
        for entry in listDirectory(folder + "/actions").sorted(by: { $0.name < $1.name }) where entry.name.hasSuffix(".json") && !entry.name.hasPrefix(".") {
            let file = "actions/" + entry.name
            switch read(folder + "/" + file).flatMap({ CatalogEntry.parse(name: String(entry.name.dropLast(5)), $0) }) {
            case .success(let parsed): inventory.catalog[parsed.name] = parsed
            case .failure(let reason): inventory.problems.append(InventoryProblem(file: file, reason: reason.description))
            }
        }
        for entry in listDirectory(folder + "/notify").sorted(by: { $0.name < $1.name }) where entry.name.hasSuffix(".json") && !entry.name.hasPrefix(".") {
            let file = "notify/" + entry.name
            switch read(folder + "/" + file).flatMap({ NotifyTarget.parse(name: String(entry.name.dropLast(5)), $0) }) {
            case .success(let parsed): inventory.notify[parsed.name] = parsed
            case .failure(let reason): inventory.problems.append(InventoryProblem(file: file, reason: reason.description))
            }
        }
        for file in jsonFiles(under: folder + "/resources", relative: "resources") {
            switch read(folder + "/" + file).flatMap({ DesiredResource.parse($0, catalog: inventory.catalog) }) {
            case .success(let resource):
                if inventory.resources[resource.subject] != nil {
                    inventory.problems.append(InventoryProblem(file: file, reason: "\(resource.subject) is already desired by another file"))
                } else {
                    inventory.resources[resource.subject] = resource
                }
            case .failure(let reason):
                inventory.problems.append(InventoryProblem(file: file, reason: reason.description))
            }
        }
        return inventory
    }

    private static func read(_ path: String) -> Result<[UInt8], InventoryProblem.Reason> {
        guard let bytes = FileContents.read(path, limit: 1 << 20) else { return .failure("unreadable or over 1 MiB") }
        return .success(bytes)
    }

    /// Relative paths of every visible `*.json` under `folder`, sorted.
    private static func jsonFiles(under folder: String, relative: String) -> [String] {
        var found: [String] = []
        for entry in listDirectory(folder) where !entry.name.hasPrefix(".") {
            if entry.kind == .directory {
                found += jsonFiles(under: folder + "/" + entry.name, relative: relative + "/" + entry.name)
            } else if entry.name.hasSuffix(".json") {
                found.append(relative + "/" + entry.name)
            }
        }
        return found.sorted()
    }
}
