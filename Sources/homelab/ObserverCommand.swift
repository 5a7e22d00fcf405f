import Observer

extension Command {
    static let observer = Command(
        name: "observer",
        summary: "run the observer: inbox → event log → world/",
        help: """
        usage: homelab observer

        Runs the observer in the foreground on $HOMELAB_ROOT (default /opt/homelab): ingests every
        complete *.json dropped into inbox/, appends it to the event log under events/, folds it
        into world/, and moves refused files to rejected/ with a NAME.reason.json. SIGTERM or
        Ctrl-C stops it after the batch in hand. Delete state/observer_checkpoint.json and
        restart it to rebuild world/ from the log.

        environment: HOMELAB_ROOT, HOMELAB_HEARTBEAT_SECONDS, HOMELAB_LOG_LEVEL
        """,
        run: { arguments in
            ServiceLauncher.serve(ObserverService.service, arguments) { configuration, logger in
                ObserverService(configuration: configuration, logger: logger)
            }
        }
    )
}
