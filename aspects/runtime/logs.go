package otelrt

// Logs. Init also installs a LoggerProvider, the one the logging
// integrations' bridges send every record to: OTEL_LOGS_EXPORTER names its
// exporter through the contrib autoexport package (otlp, the default, with
// the OTEL_EXPORTER_OTLP_* variables as for spans and
// OTEL_EXPORTER_OTLP_LOGS_* first; console; none). Records go out in
// batches (OTEL_BLRP_* tune them) and are flushed at every exit, as spans
// are. With none, nothing is installed, and the bridges do nothing
// (LogsExported). What the program prints is not changed by any of it.

import (
	"context"
	"sync/atomic"

	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel/log/global"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
)

var (
	loggerProvider *sdklog.LoggerProvider
	logsExported   atomic.Bool // read by every logging call, from any goroutine
)

func installLogs(ctx context.Context, res *resource.Resource) {
	exporter, err := autoexport.NewLogExporter(ctx)
	if err != nil {
		warn("log export is off: %v", err)
		return
	}
	if autoexport.IsNoneLogExporter(exporter) {
		return
	}
	loggerProvider = sdklog.NewLoggerProvider(sdklog.WithResource(res), sdklog.WithProcessor(sdklog.NewBatchProcessor(exporter)))
	global.SetLoggerProvider(loggerProvider)
	logsExported.Store(true)
}

// LogsExported reports whether log records are exported: a bridge that
// would convert a record for nothing asks first.
func LogsExported() bool { return logsExported.Load() }
