#if canImport(Glibc)
import Glibc
#endif
import Testing
import TestSupport
@testable import FSWatch

@Suite(.serialized, .timeLimit(.minutes(2))) struct FileDescriptorTests {
    @Test func closeAfterClosesWhenTheBodyThrows() {
        struct Failed: Error {}
        let before = openDescriptorCount()
        #expect(throws: Failed.self) {
            try FileDescriptor.open("/dev/null", O_RDONLY).closeAfter { _ in throw Failed() }
        }
        #expect(openDescriptorCount() == before)
    }

    #if DEBUG
    @Test func droppingAnOpenDescriptorTrapsInDebugBuilds() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = try? FileDescriptor.open("/dev/null", O_RDONLY)
        }
        let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(message.contains("leak of open descriptor"))
    }
    #endif
}
