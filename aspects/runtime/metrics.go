package otelrt

// Metrics. Init also installs a MeterProvider, so that an instrumented
// program records the semantic conventions' metrics as well as its spans:
//
//   - every span an integration ends that the conventions give a metric for
//     (an HTTP request served or sent, a database call, a message sent or
//     processed, a GenAI call) is measured when it ends, by a span processor
//     (spanmetrics.go): the metric comes from the same hook as the span, with
//     the span's attributes that the conventions keep for the metric (the
//     route template, never the path) and, when the span is sampled, an
//     exemplar that names it;
//   - instrumentation packages that record metrics of their own (otelgrpc's
//     rpc.*.call.duration) find this provider as the global one;
//   - the Go runtime's metrics (go.memory.used, go.goroutine.count...) come
//     from the contrib runtime instrumentation.
//
// OTEL_METRICS_EXPORTER names the exporter, through the contrib autoexport
// package: otlp (the default: OTEL_EXPORTER_OTLP_* as for spans,
// OTEL_EXPORTER_OTLP_METRICS_* first), prometheus (a scrape endpoint at
// http://OTEL_EXPORTER_PROMETHEUS_HOST:OTEL_EXPORTER_PROMETHEUS_PORT/metrics,
// localhost:9464 by default, whose requests are not traced), console
// (stdout) or none. OTEL_METRIC_EXPORT_INTERVAL and _TIMEOUT time the
// pushes; every exit path that flushes spans flushes metrics too. With none,
// nothing is installed: no processor, no runtime metrics, no cost.
//
// A span a sampler drops would leave its request out of the metrics, so
// while metrics are on the sampler the environment names decides which
// spans are exported, and every other span is still recorded (sampled out:
// exported by no one, measured all the same).

import (
	"context"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"

	"go.opentelemetry.io/contrib/exporters/autoexport"
	runtimemetrics "go.opentelemetry.io/contrib/instrumentation/runtime"
	"go.opentelemetry.io/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

var meterProvider *sdkmetric.MeterProvider

// installMetrics installs the MeterProvider the environment asks for and
// returns it, or nil when metrics are off. The exporters are autoexport's
// (OTEL_METRICS_EXPORTER: otlp, the default, prometheus, console, none).
func installMetrics(ctx context.Context, res *resource.Resource) *sdkmetric.MeterProvider {
	reader, err := autoexport.NewMetricReader(ctx)
	if err != nil {
		warn("metrics are off: %v", err)
		return nil
	}
	if autoexport.IsNoneMetricReader(reader) {
		return nil
	}
	prometheusPort.Store(int64(scrapePort()))
	meterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithResource(res), sdkmetric.WithReader(reader))
	otel.SetMeterProvider(meterProvider)
	startRuntimeMetrics()
	return meterProvider
}

// prometheusPort is the port of the Prometheus endpoint autoexport serves
// (0: none, or an unknown one). Its server is a plain net/http server, whose
// requests net/http's integration would trace: it asks Untraced.
var prometheusPort atomic.Int64

// scrapePort is the port OTEL_EXPORTER_PROMETHEUS_PORT names (9464 by
// default) when OTEL_METRICS_EXPORTER names prometheus, else 0.
func scrapePort() int {
	for _, name := range strings.Split(os.Getenv("OTEL_METRICS_EXPORTER"), ",") {
		if strings.TrimSpace(name) == "prometheus" {
			port, err := strconv.Atoi(getenv("OTEL_EXPORTER_PROMETHEUS_PORT", "9464"))
			if err != nil {
				return 0
			}
			return port
		}
	}
	return 0
}

// Untraced reports whether a request a server received on local address
// addr is a scrape of the runtime's Prometheus endpoint, whose requests
// net/http's integration does not trace (a scrape is not the program's
// work). No program's own server can listen on that port beside it.
func Untraced(addr net.Addr) bool {
	port := prometheusPort.Load()
	if port == 0 || addr == nil {
		return false
	}
	tcp, ok := addr.(*net.TCPAddr)
	return ok && int64(tcp.Port) == port
}

// startRuntimeMetrics starts the contrib runtime instrumentation with the
// current conventions' metric names (go.memory.used...): its releases made
// before OpenTelemetry v1.38 name them so only when
// OTEL_GO_X_DEPRECATED_RUNTIME_METRICS is false, which they read when they
// start; a program's own setting is kept, and newer releases ignore it.
func startRuntimeMetrics() {
	const deprecated = "OTEL_GO_X_DEPRECATED_RUNTIME_METRICS"
	if _, set := os.LookupEnv(deprecated); !set {
		os.Setenv(deprecated, "false")
		defer os.Unsetenv(deprecated)
	}
	if err := runtimemetrics.Start(runtimemetrics.WithMeterProvider(meterProvider)); err != nil {
		warn("runtime metrics: %v", err)
	}
}

func getenv(name, fallback string) string {
	if value := strings.TrimSpace(os.Getenv(name)); value != "" {
		return value
	}
	return fallback
}

// recordingAll is the sampler while metrics are on: the environment's
// decides what is sampled (exported), and a span it drops is recorded
// all the same, to be measured.
type recordingAll struct{ sdktrace.Sampler }

func (s recordingAll) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	result := s.Sampler.ShouldSample(p)
	if result.Decision == sdktrace.Drop {
		result.Decision = sdktrace.RecordOnly
	}
	return result
}

// samplerFromEnv is the sampler OTEL_TRACES_SAMPLER and _ARG name, as the
// SDK reads them when it is given none: parentbased_always_on when unset;
// a value it does not know is reported, and the default used.
func samplerFromEnv() sdktrace.Sampler {
	name := strings.ToLower(strings.TrimSpace(os.Getenv("OTEL_TRACES_SAMPLER")))
	ratio := func() sdktrace.Sampler {
		arg := strings.TrimSpace(os.Getenv("OTEL_TRACES_SAMPLER_ARG"))
		if arg == "" {
			return sdktrace.TraceIDRatioBased(1)
		}
		value, err := strconv.ParseFloat(arg, 64)
		if err != nil || value < 0 || value > 1 {
			warn("OTEL_TRACES_SAMPLER_ARG %q is not a ratio from 0 to 1: 1 is used", arg)
			return sdktrace.TraceIDRatioBased(1)
		}
		return sdktrace.TraceIDRatioBased(value)
	}
	switch name {
	case "", "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample())
	case "always_on":
		return sdktrace.AlwaysSample()
	case "always_off":
		return sdktrace.NeverSample()
	case "traceidratio":
		return ratio()
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample())
	case "parentbased_traceidratio":
		return sdktrace.ParentBased(ratio())
	}
	warn("OTEL_TRACES_SAMPLER %q is not a sampler the SDK knows: parentbased_always_on is used", name)
	return sdktrace.ParentBased(sdktrace.AlwaysSample())
}
