@testable import Agent
import Testing

/// What may go ahead of a backlog: only a report nothing older in the spool is about.
@Suite(.timeLimit(.minutes(1))) struct SpoolSubjectsTests {
    @Test func aReportGoesAheadOnlyWhenNothingOlderIsAboutIt() {
        var subjects = SpoolSubjects(unknown: 2)
        // Lines from before this process: their subjects are unknown, so nothing goes ahead.
        #expect(!subjects.mayGoAhead(subject: "container/nas/web", snapshot: false))
        subjects.acknowledged(2)
        #expect(subjects.mayGoAhead(subject: "container/nas/web", snapshot: false))
        #expect(!subjects.mayGoAhead(subject: nil, snapshot: false))  // no subject: kept in order

        subjects.appended(subject: "container/nas/web", snapshot: false)
        #expect(!subjects.mayGoAhead(subject: "container/nas/web", snapshot: false))
        #expect(subjects.mayGoAhead(subject: "container/nas/db", snapshot: false))
        #expect(!subjects.mayGoAhead(subject: "container/nas", snapshot: true))  // a snapshot over what waits
        #expect(subjects.mayGoAhead(subject: "container/pi", snapshot: true))

        subjects.appended(subject: "container/pi", snapshot: true)
        #expect(!subjects.mayGoAhead(subject: "container/pi/web", snapshot: false))  // under a waiting snapshot
        #expect(subjects.mayGoAhead(subject: "node/pi", snapshot: false))

        subjects.acknowledged(1)
        #expect(subjects.mayGoAhead(subject: "container/nas/web", snapshot: false))
        #expect(!subjects.mayGoAhead(subject: "container/pi/web", snapshot: false))
        subjects.acknowledged(1)
        #expect(subjects.mayGoAhead(subject: "container/pi/web", snapshot: false))
        #expect(subjects.mayGoAhead(subject: "container/pi", snapshot: true))
    }
}
