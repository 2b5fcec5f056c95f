package otelrt

// The metrics of the semantic conventions, measured from the spans the
// integrations end: a span of a kind and family that a convention gives a
// duration metric for is recorded in that histogram when it ends, with the
// span's duration (and the sizes it carries: HTTP bodies) and the
// attributes the convention keeps for the metric (a closed list: never a
// path, a statement or an id), through a meter of the span's own
// instrumentation scope. The span's context goes along, so a sampled span
// becomes the exemplar of its bucket.
//
// One place holds the rules, so every integration whose spans follow the
// conventions has its metrics, and one that records its own (otelgrpc's RPC
// metrics) makes spans no rule matches.

import (
	"context"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// A convention is one duration metric and the spans it measures: the first
// convention whose family attribute the span has, and whose kinds hold the
// span's, takes it.
type convention struct {
	metric      string
	description string
	family      attribute.Key // the attribute every span of the family has
	kinds       []trace.SpanKind
	process     bool // messaging: the process operation, or every other one
	keep        []attribute.Key
	buckets     []float64
	tokens      bool // GenAI: token counts too (gen_ai.client.token.usage)
	sizes       []size
}

// A size is a histogram, in bytes, of a size the convention's spans carry
// (HTTP bodies), with the duration's attributes.
type size struct {
	metric      string
	description string
	key         attribute.Key // the span's attribute
	zero        bool          // a span without it measures 0: its spans leave a zero size out
}

var (
	httpBuckets  = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}
	dbBuckets    = []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10}
	genAIBuckets = []float64{0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92}
	tokenBuckets = []float64{1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864}

	messagingKeys = []attribute.Key{
		"messaging.system", "messaging.operation.name", "messaging.operation.type", "error.type",
		"messaging.destination.name", "messaging.destination.template", "messaging.destination.subscription.name",
		"messaging.consumer.group.name", "messaging.destination.partition.id", "server.address", "server.port",
	}
	clientKind     = []trace.SpanKind{trace.SpanKindClient}
	messagingKinds = []trace.SpanKind{trace.SpanKindProducer, trace.SpanKindConsumer, trace.SpanKindClient}
)

// conventions, most specific first: an Elasticsearch span has HTTP's
// attributes too, and is a database call.
var conventions = []convention{
	{
		metric: "gen_ai.client.operation.duration", description: "GenAI operation duration.",
		family: "gen_ai.operation.name", kinds: clientKind, buckets: genAIBuckets, tokens: true,
		keep: []attribute.Key{
			"gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model", "gen_ai.response.model",
			"error.type", "server.address", "server.port",
		},
	},
	{
		metric: "db.client.operation.duration", description: "Duration of database client operations.",
		family: "db.system.name", kinds: clientKind, buckets: dbBuckets,
		keep: []attribute.Key{
			"db.system.name", "db.namespace", "db.operation.name", "db.collection.name", "db.query.summary",
			"db.stored_procedure.name", "db.response.status_code", "error.type", "server.address", "server.port",
		},
	},
	{
		metric: "messaging.process.duration", description: "Duration of processing operation.",
		family: "messaging.system", kinds: []trace.SpanKind{trace.SpanKindConsumer}, process: true,
		buckets: httpBuckets, keep: messagingKeys,
	},
	{
		metric: "messaging.client.operation.duration", description: "Duration of messaging operation initiated by a producer or consumer client.",
		family: "messaging.system", kinds: messagingKinds, buckets: httpBuckets, keep: messagingKeys,
	},
	{
		metric: "http.server.request.duration", description: "Duration of HTTP server requests.",
		family: "http.request.method", kinds: []trace.SpanKind{trace.SpanKindServer}, buckets: httpBuckets,
		keep: []attribute.Key{
			"http.request.method", "url.scheme", "http.route", "http.response.status_code", "error.type",
			"network.protocol.name", "network.protocol.version",
		},
		sizes: []size{
			{"http.server.request.body.size", "Size of HTTP server request bodies.", "http.request.body.size", true},
			{"http.server.response.body.size", "Size of HTTP server response bodies.", "http.response.body.size", true},
		},
	},
	{
		metric: "http.client.request.duration", description: "Duration of HTTP client requests.",
		family: "http.request.method", kinds: clientKind, buckets: httpBuckets,
		keep: []attribute.Key{
			"http.request.method", "server.address", "server.port", "http.response.status_code", "error.type",
			"network.protocol.name", "network.protocol.version",
		},
		sizes: []size{
			{"http.client.request.body.size", "Size of HTTP client request bodies.", "http.request.body.size", true},
			// Only a declared length: a response's body is still to be read when its span ends.
			{"http.client.response.body.size", "Size of HTTP client response bodies.", "http.response.body.size", false},
		},
	},
}

// conventionOf is the index of the convention that measures a span with
// these attributes, or -1.
func conventionOf(kind trace.SpanKind, attrs []attribute.KeyValue) int {
	for i := range conventions {
		c := &conventions[i]
		if !hasKind(c.kinds, kind) {
			continue
		}
		if _, ok := lookup(attrs, c.family); !ok {
			continue
		}
		if c.family == "messaging.system" {
			operation, _ := lookup(attrs, "messaging.operation.type")
			if (operation.AsString() == "process") != c.process {
				continue
			}
		}
		return i
	}
	return -1
}

func hasKind(kinds []trace.SpanKind, kind trace.SpanKind) bool {
	for _, k := range kinds {
		if k == kind {
			return true
		}
	}
	return false
}

func lookup(attrs []attribute.KeyValue, key attribute.Key) (attribute.Value, bool) {
	for _, kv := range attrs {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

// maxKept bounds a convention's keep list, error.type's fallback included.
const maxKept = 12

// kept is the attributes a metric keeps of one span, in the convention's
// order, on the stack.
type kept [maxKept]attribute.KeyValue

// metricAttributes are the span's attributes the convention keeps; a
// temporary or anonymous destination's name is left out (its template
// stays), and a failed span without error.type gets "_OTHER".
func (c *convention) metricAttributes(attrs []attribute.KeyValue, failed bool) (out kept, n int) {
	hidden := c.family == "messaging.system" &&
		(flag(attrs, "messaging.destination.temporary") || flag(attrs, "messaging.destination.anonymous"))
	hasError := false
	for _, key := range c.keep {
		if hidden && key == "messaging.destination.name" {
			continue
		}
		if value, ok := lookup(attrs, key); ok {
			out[n] = attribute.KeyValue{Key: key, Value: value}
			n++
			hasError = hasError || key == "error.type"
		}
	}
	if failed && !hasError {
		out[n] = attribute.String("error.type", "_OTHER")
		n++
	}
	return out, n
}

func flag(attrs []attribute.KeyValue, key attribute.Key) bool {
	value, ok := lookup(attrs, key)
	return ok && value.Type() == attribute.BOOL && value.AsBool()
}

// spanMetrics is the span processor that measures spans as they end.
type spanMetrics struct {
	provider metric.MeterProvider
	mu       sync.Mutex // held while a scope's instruments are made
	meters   sync.Map   // scopeKey: *instruments, by the span's instrumentation scope; read without a lock
}

type scopeKey struct{ name, version, schema string }

// instruments are one scope's histograms, by convention (index in conventions).
type instruments struct {
	durations []metric.Float64Histogram
	sizes     [][]metric.Int64Histogram // by convention, then by its sizes
	tokens    metric.Int64Histogram
}

func newSpanMetrics(provider metric.MeterProvider) *spanMetrics {
	return &spanMetrics{provider: provider}
}

func (m *spanMetrics) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (m *spanMetrics) Shutdown(context.Context) error                  { return nil }
func (m *spanMetrics) ForceFlush(context.Context) error                { return nil }

func (m *spanMetrics) OnEnd(span sdktrace.ReadOnlySpan) {
	attrs := span.Attributes()
	index := conventionOf(span.SpanKind(), attrs)
	if index < 0 {
		return
	}
	c := &conventions[index]
	in := m.instrumentsOf(span)
	kept, n := c.metricAttributes(attrs, span.Status().Code == codes.Error)
	set := attribute.NewSet(kept[:n]...)
	// A sampled span's context: the measurement is its bucket's exemplar.
	ctx := context.Background()
	if span.SpanContext().IsSampled() {
		ctx = trace.ContextWithSpanContext(ctx, span.SpanContext())
	}
	seconds := span.EndTime().Sub(span.StartTime()).Seconds()
	in.durations[index].Record(ctx, seconds, metric.WithAttributeSet(set))
	for i, sz := range c.sizes {
		value, ok := lookup(attrs, sz.key)
		switch {
		case ok && value.Type() == attribute.INT64:
			in.sizes[index][i].Record(ctx, value.AsInt64(), metric.WithAttributeSet(set))
		case !ok && sz.zero:
			in.sizes[index][i].Record(ctx, 0, metric.WithAttributeSet(set))
		}
	}
	if c.tokens {
		for _, count := range [...]struct {
			key       attribute.Key
			tokenType string
		}{{"gen_ai.usage.input_tokens", "input"}, {"gen_ai.usage.output_tokens", "output"}} {
			if value, ok := lookup(attrs, count.key); ok && value.Type() == attribute.INT64 {
				typed := attribute.NewSet(append(set.ToSlice(), attribute.String("gen_ai.token.type", count.tokenType))...)
				in.tokens.Record(ctx, value.AsInt64(), metric.WithAttributeSet(typed))
			}
		}
	}
}

// instrumentsOf are the histograms of the span's instrumentation scope,
// made the first time a span of that scope ends.
func (m *spanMetrics) instrumentsOf(span sdktrace.ReadOnlySpan) *instruments {
	scope := span.InstrumentationScope()
	key := scopeKey{scope.Name, scope.Version, scope.SchemaURL}
	if in, ok := m.meters.Load(key); ok {
		return in.(*instruments)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if in, ok := m.meters.Load(key); ok { // made while this goroutine waited
		return in.(*instruments)
	}
	meter := m.provider.Meter(scope.Name, metric.WithInstrumentationVersion(scope.Version), metric.WithSchemaURL(scope.SchemaURL))
	in := &instruments{
		durations: make([]metric.Float64Histogram, len(conventions)),
		sizes:     make([][]metric.Int64Histogram, len(conventions)),
	}
	for i, c := range conventions {
		// Errors come with a working (no-op) instrument, and the SDK reports them.
		in.durations[i], _ = meter.Float64Histogram(c.metric, metric.WithUnit("s"),
			metric.WithDescription(c.description), metric.WithExplicitBucketBoundaries(c.buckets...))
		for _, sz := range c.sizes {
			histogram, _ := meter.Int64Histogram(sz.metric, metric.WithUnit("By"), metric.WithDescription(sz.description))
			in.sizes[i] = append(in.sizes[i], histogram)
		}
	}
	in.tokens, _ = meter.Int64Histogram("gen_ai.client.token.usage", metric.WithUnit("{token}"),
		metric.WithDescription("Number of input and output tokens used."), metric.WithExplicitBucketBoundaries(tokenBuckets...))
	m.meters.Store(key, in)
	return in
}
