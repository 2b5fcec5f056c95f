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
// OTEL_METRICS_EXPORTER names the exporters, comma-separated: otlp (the
// default: OTEL_EXPORTER_OTLP_* as for spans, OTEL_EXPORTER_OTLP_METRICS_*
// first), prometheus (a scrape endpoint at
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
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	runtimemetrics "go.opentelemetry.io/contrib/instrumentation/runtime"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	promexporter "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

var meterProvider *sdkmetric.MeterProvider

// installMetrics installs the MeterProvider the environment asks for and
// returns it, or nil when metrics are off.
func installMetrics(ctx context.Context, res *resource.Resource) *sdkmetric.MeterProvider {
	readers, err := metricReaders(ctx, os.Getenv("OTEL_METRICS_EXPORTER"))
	if err != nil {
		warn("metrics are off: %v", err)
		return nil
	}
	if len(readers) == 0 {
		return nil
	}
	options := []sdkmetric.Option{sdkmetric.WithResource(res)}
	for _, reader := range readers {
		options = append(options, sdkmetric.WithReader(reader))
	}
	meterProvider = sdkmetric.NewMeterProvider(options...)
	otel.SetMeterProvider(meterProvider)
	startRuntimeMetrics()
	return meterProvider
}

// metricReaders are the readers OTEL_METRICS_EXPORTER names ("" is otlp).
// On an error, the readers made so far are shut down.
func metricReaders(ctx context.Context, names string) ([]sdkmetric.Reader, error) {
	if strings.TrimSpace(names) == "" {
		names = "otlp"
	}
	var readers []sdkmetric.Reader
	for _, name := range strings.Split(names, ",") {
		name = strings.TrimSpace(name)
		if name == "none" {
			continue
		}
		reader, err := metricReader(ctx, name)
		if err != nil {
			for _, r := range readers {
				_ = r.Shutdown(ctx)
			}
			return nil, err
		}
		readers = append(readers, reader)
	}
	return readers, nil
}

func metricReader(ctx context.Context, name string) (sdkmetric.Reader, error) {
	switch name {
	case "otlp":
		var exporter sdkmetric.Exporter
		var err error
		switch protocol := otlpProtocol("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"); protocol {
		case "http/protobuf":
			exporter, err = otlpmetrichttp.New(ctx)
		case "grpc":
			exporter, err = otlpmetricgrpc.New(ctx)
		default:
			return nil, fmt.Errorf("OTLP protocol %q: want http/protobuf or grpc", protocol)
		}
		if err != nil {
			return nil, err
		}
		return sdkmetric.NewPeriodicReader(exporter), nil
	case "console":
		exporter, err := stdoutmetric.New()
		if err != nil {
			return nil, err
		}
		return sdkmetric.NewPeriodicReader(exporter), nil
	case "prometheus":
		return prometheusReader()
	}
	return nil, fmt.Errorf("OTEL_METRICS_EXPORTER names %q: want otlp, prometheus, console or none", name)
}

// otlpProtocol is the OTLP protocol of one signal: its own variable, else
// OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf (the specification's default).
func otlpProtocol(signalVariable string) string {
	for _, variable := range []string{signalVariable, "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		if value := strings.TrimSpace(os.Getenv(variable)); value != "" {
			return value
		}
	}
	return "http/protobuf"
}

// servedReader is the Prometheus exporter and the server that serves its
// scrapes: shutting the reader down closes the server too.
type servedReader struct {
	sdkmetric.Reader
	server *http.Server
}

func (r servedReader) Shutdown(ctx context.Context) error {
	return errors.Join(r.Reader.Shutdown(ctx), r.server.Shutdown(ctx))
}

// prometheusReader serves the program's metrics, in a registry of their own,
// at /metrics on the address the environment names. The server's
// connections are marked untraced (a scrape is not the program's work).
func prometheusReader() (sdkmetric.Reader, error) {
	registry := prometheus.NewRegistry()
	exporter, err := promexporter.New(promexporter.WithRegisterer(registry))
	if err != nil {
		return nil, err
	}
	address := net.JoinHostPort(getenv("OTEL_EXPORTER_PROMETHEUS_HOST", "localhost"), getenv("OTEL_EXPORTER_PROMETHEUS_PORT", "9464"))
	listener, err := net.Listen("tcp", address)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("prometheus endpoint: %w", err), exporter.Shutdown(context.Background()))
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	server := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ConnContext: func(ctx context.Context, _ net.Conn) context.Context {
			return context.WithValue(ctx, untracedKey{}, true)
		},
	}
	go func() {
		if err := server.Serve(listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			warn("prometheus endpoint: %v", err)
		}
	}()
	return servedReader{Reader: exporter, server: server}, nil
}

type untracedKey struct{}

// Untraced reports whether ctx belongs to a connection of one of the
// runtime's own servers (the Prometheus endpoint): net/http's integration
// makes no span for the requests it serves.
func Untraced(ctx context.Context) bool {
	untraced, _ := ctx.Value(untracedKey{}).(bool)
	return untraced
}

// startRuntimeMetrics starts the contrib runtime instrumentation: the
// current conventions' metrics (go.memory.used, go.goroutine.count...).
func startRuntimeMetrics() {
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
