package otelrt

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// measured is a tracer whose spans are measured into a manual reader, with
// the given sampler (recordingAll around it, as Init installs it).
func measured(t *testing.T, sampler sdktrace.Sampler) (trace.Tracer, *sdkmetric.ManualReader) {
	reader := sdkmetric.NewManualReader()
	meters := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	provider := sdktrace.NewTracerProvider(
		sdktrace.WithSpanProcessor(newSpanMetrics(meters)), sdktrace.WithSampler(recordingAll{sampler}))
	t.Cleanup(func() { _ = provider.Shutdown(context.Background()) })
	return provider.Tracer("overlay-gen/test"), reader
}

// histograms are the collected float histograms by metric name, with the unit.
func histograms(t *testing.T, reader *sdkmetric.ManualReader) map[string]metricdata.Metrics {
	var data metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &data); err != nil {
		t.Fatal(err)
	}
	found := map[string]metricdata.Metrics{}
	for _, scope := range data.ScopeMetrics {
		if scope.Scope.Name != "overlay-gen/test" {
			t.Errorf("metrics in scope %q, want the spans' scope", scope.Scope.Name)
		}
		for _, m := range scope.Metrics {
			found[m.Name] = m
		}
	}
	return found
}

func points(t *testing.T, m metricdata.Metrics) []metricdata.HistogramDataPoint[float64] {
	h, ok := m.Data.(metricdata.Histogram[float64])
	if !ok {
		t.Fatalf("%s is a %T, want a float histogram", m.Name, m.Data)
	}
	return h.DataPoints
}

func end(tracer trace.Tracer, ctx context.Context, kind trace.SpanKind, failed bool, attrs ...attribute.KeyValue) trace.Span {
	_, span := tracer.Start(ctx, "span", trace.WithSpanKind(kind), trace.WithAttributes(attrs...))
	if failed {
		span.SetStatus(codes.Error, "failed")
	}
	span.End()
	return span
}

// A served request is measured with the route, never the path; a second
// request on the same route adds to the same point.
func TestAServerSpanIsMeasuredByItsRouteNotItsPath(t *testing.T) {
	tracer, reader := measured(t, sdktrace.AlwaysSample())
	for _, path := range []string{"/users/1", "/users/2"} {
		end(tracer, context.Background(), trace.SpanKindServer, false,
			attribute.String("http.request.method", "GET"), attribute.String("url.scheme", "http"),
			attribute.String("url.path", path), attribute.String("http.route", "/users/{id}"),
			attribute.Int("http.response.status_code", 200), attribute.String("client.address", "10.0.0.1"))
	}
	found := histograms(t, reader)
	m, ok := found["http.server.request.duration"]
	if !ok || m.Unit != "s" {
		t.Fatalf("http.server.request.duration (s) not recorded: %v", found)
	}
	got := points(t, m)
	if len(got) != 1 || got[0].Count != 2 {
		t.Fatalf("points %+v, want one of count 2", got)
	}
	want := attribute.NewSet(attribute.String("http.request.method", "GET"), attribute.String("url.scheme", "http"),
		attribute.String("http.route", "/users/{id}"), attribute.Int("http.response.status_code", 200))
	if !got[0].Attributes.Equals(&want) {
		t.Errorf("attributes %v, want %v", got[0].Attributes.ToSlice(), want.ToSlice())
	}
	if len(got[0].Exemplars) == 0 {
		t.Error("a sampled span is no exemplar")
	}
}

// Each family has its metric; the most specific convention wins (an
// Elasticsearch span has HTTP's attributes too), a failed span without
// error.type gets _OTHER, and spans no convention knows (RPC: otelgrpc
// measures its own) are not measured.
func TestEachFamilyIsMeasuredByItsConvention(t *testing.T) {
	tracer, reader := measured(t, sdktrace.AlwaysSample())
	ctx := context.Background()
	end(tracer, ctx, trace.SpanKindClient, true, attribute.String("db.system.name", "elasticsearch"),
		attribute.String("http.request.method", "GET"), attribute.String("db.operation.name", "search"),
		attribute.String("db.query.text", "secret"))
	end(tracer, ctx, trace.SpanKindClient, false, attribute.String("http.request.method", "GET"),
		attribute.String("server.address", "example.com"), attribute.String("url.full", "http://example.com/x?q=1"))
	end(tracer, ctx, trace.SpanKindProducer, false, attribute.String("messaging.system", "kafka"),
		attribute.String("messaging.operation.type", "send"), attribute.String("messaging.destination.name", "orders"),
		attribute.String("messaging.message.id", "m-1"))
	end(tracer, ctx, trace.SpanKindConsumer, false, attribute.String("messaging.system", "rabbitmq"),
		attribute.String("messaging.operation.type", "process"), attribute.String("messaging.destination.name", "amq.gen-1"),
		attribute.Bool("messaging.destination.anonymous", true))
	end(tracer, ctx, trace.SpanKindClient, false, attribute.String("gen_ai.operation.name", "chat"),
		attribute.String("gen_ai.provider.name", "openai"), attribute.Int("gen_ai.usage.input_tokens", 12),
		attribute.Int("gen_ai.usage.output_tokens", 3))
	end(tracer, ctx, trace.SpanKindClient, false, attribute.String("rpc.system", "grpc"))
	end(tracer, ctx, trace.SpanKindInternal, false, attribute.String("http.request.method", "GET"))

	found := histograms(t, reader)
	for name, want := range map[string]attribute.Set{
		"db.client.operation.duration": attribute.NewSet(attribute.String("db.system.name", "elasticsearch"),
			attribute.String("db.operation.name", "search"), attribute.String("error.type", "_OTHER")),
		"http.client.request.duration": attribute.NewSet(attribute.String("http.request.method", "GET"),
			attribute.String("server.address", "example.com")),
		"messaging.client.operation.duration": attribute.NewSet(attribute.String("messaging.system", "kafka"),
			attribute.String("messaging.operation.type", "send"), attribute.String("messaging.destination.name", "orders")),
		"messaging.process.duration": attribute.NewSet(attribute.String("messaging.system", "rabbitmq"),
			attribute.String("messaging.operation.type", "process")),
		"gen_ai.client.operation.duration": attribute.NewSet(attribute.String("gen_ai.operation.name", "chat"),
			attribute.String("gen_ai.provider.name", "openai")),
	} {
		m, ok := found[name]
		if !ok {
			t.Errorf("%s not recorded", name)
			continue
		}
		got := points(t, m)
		if len(got) != 1 || got[0].Count != 1 || !got[0].Attributes.Equals(&want) {
			t.Errorf("%s: %+v, want one point of %v", name, got, want.ToSlice())
		}
	}
	tokens, ok := found["gen_ai.client.token.usage"].Data.(metricdata.Histogram[int64])
	if !ok || len(tokens.DataPoints) != 2 {
		t.Fatalf("gen_ai.client.token.usage: %+v, want input and output", found["gen_ai.client.token.usage"])
	}
	for _, p := range tokens.DataPoints {
		kind, _ := p.Attributes.Value("gen_ai.token.type")
		if want := map[string]int64{"input": 12, "output": 3}[kind.AsString()]; p.Sum != want {
			t.Errorf("%s tokens: %d, want %d", kind.AsString(), p.Sum, want)
		}
	}
	if len(found) != 7 { // and the HTTP client's request body size
		t.Errorf("metrics %v: the RPC or internal span was measured", found)
	}
}

// The HTTP spans' body sizes are histograms in bytes with the duration's
// attributes; a span leaves a zero size out, so a server span without one
// measures 0, and a client span without a declared response length measures
// no response size.
func TestHTTPBodySizesAreMeasuredFromTheSpans(t *testing.T) {
	tracer, reader := measured(t, sdktrace.AlwaysSample())
	ctx := context.Background()
	get := attribute.String("http.request.method", "GET")
	end(tracer, ctx, trace.SpanKindServer, false, get, attribute.Int("http.request.body.size", 10),
		attribute.Int("http.response.body.size", 100))
	end(tracer, ctx, trace.SpanKindServer, false, get, attribute.Int("http.response.body.size", 250))
	end(tracer, ctx, trace.SpanKindClient, false, get, attribute.Int("http.request.body.size", 7))
	end(tracer, ctx, trace.SpanKindClient, false, get, attribute.Int("http.response.body.size", 40))
	found := histograms(t, reader)
	for name, want := range map[string]struct{ count, sum int64 }{
		"http.server.request.body.size":  {2, 10},
		"http.server.response.body.size": {2, 350},
		"http.client.request.body.size":  {2, 7},
		"http.client.response.body.size": {1, 40},
	} {
		m := found[name]
		h, ok := m.Data.(metricdata.Histogram[int64])
		if !ok || m.Unit != "By" || len(h.DataPoints) != 1 {
			t.Errorf("%s: %+v, want one int histogram point in By", name, m)
			continue
		}
		p := h.DataPoints[0]
		wantSet := attribute.NewSet(get)
		if int64(p.Count) != want.count || p.Sum != want.sum || !p.Attributes.Equals(&wantSet) {
			t.Errorf("%s: count %d sum %d %v, want %d, %d, method only", name, p.Count, p.Sum, p.Attributes.ToSlice(), want.count, want.sum)
		}
	}
}

// A span the environment's sampler drops is not exported but is measured,
// and is no exemplar: no trace of it exists.
func TestADroppedSpanIsMeasuredAndIsNoExemplar(t *testing.T) {
	tracer, reader := measured(t, sdktrace.NeverSample())
	span := end(tracer, context.Background(), trace.SpanKindServer, false,
		attribute.String("http.request.method", "GET"), attribute.String("url.scheme", "http"))
	if span.SpanContext().IsSampled() {
		t.Fatal("the span is sampled")
	}
	got := points(t, histograms(t, reader)["http.server.request.duration"])
	if len(got) != 1 || got[0].Count != 1 {
		t.Fatalf("points %+v, want one of count 1", got)
	}
	if len(got[0].Exemplars) != 0 {
		t.Errorf("exemplars %+v of a span no one exports", got[0].Exemplars)
	}
}

func TestTheSamplerComesFromTheEnvironment(t *testing.T) {
	for value, want := range map[string]string{
		"":                         "ParentBased{root:AlwaysOnSampler",
		"always_off":               "AlwaysOffSampler",
		"traceidratio":             "TraceIDRatioBased{0.25}",
		"parentbased_traceidratio": "ParentBased{root:TraceIDRatioBased{0.25}",
		"nonsense":                 "ParentBased{root:AlwaysOnSampler",
	} {
		t.Setenv("OTEL_TRACES_SAMPLER", value)
		t.Setenv("OTEL_TRACES_SAMPLER_ARG", "0.25")
		if got := samplerFromEnv().Description(); len(got) < len(want) || got[:len(want)] != want {
			t.Errorf("OTEL_TRACES_SAMPLER=%q: %s, want %s...", value, got, want)
		}
	}
}

type discard struct{}

func (discard) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (discard) OnEnd(sdktrace.ReadOnlySpan)                     {}
func (discard) Shutdown(context.Context) error                  { return nil }
func (discard) ForceFlush(context.Context) error                { return nil }

// What measuring costs a served request's span, against the same span unmeasured.
func BenchmarkServerSpan(b *testing.B) {
	attrs := []attribute.KeyValue{
		attribute.String("http.request.method", "GET"), attribute.String("url.scheme", "http"),
		attribute.String("network.protocol.version", "1.1"), attribute.String("url.path", "/hello/bench"),
		attribute.String("server.address", "127.0.0.1"), attribute.Int("server.port", 8080),
		attribute.String("user_agent.original", "load"), attribute.String("client.address", "127.0.0.1"),
	}
	for _, measuredToo := range []bool{false, true} {
		name := map[bool]string{false: "spans", true: "spans+metrics"}[measuredToo]
		b.Run(name, func(b *testing.B) {
			// A processor that takes every span, as the batcher does: the SDK snapshots each span for it.
			options := []sdktrace.TracerProviderOption{sdktrace.WithSpanProcessor(discard{})}
			if measuredToo {
				options = append(options, sdktrace.WithSpanProcessor(newSpanMetrics(
					sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader())))))
			}
			tracer := sdktrace.NewTracerProvider(options...).Tracer("overlay-gen/net/http")
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					_, span := tracer.Start(context.Background(), "GET", trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
					span.SetAttributes(attribute.String("http.route", "/hello/{name}"), attribute.Int("http.response.status_code", 200))
					span.End()
				}
			})
		})
	}
}

func TestEveryConventionKeepsFewerAttributesThanItsKeyHolds(t *testing.T) {
	for _, c := range conventions {
		if len(c.keep)+1 > maxKept { // error.type's fallback
			t.Errorf("%s keeps %d attributes: raise maxKept", c.metric, len(c.keep))
		}
	}
}
