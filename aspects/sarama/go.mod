module overlay-gen.invalid/saramatrace

go 1.26.0

require (
	github.com/IBM/sarama v1.40.0
	go.opentelemetry.io/otel v1.45.0
	go.opentelemetry.io/otel/sdk v1.36.0
	go.opentelemetry.io/otel/trace v1.45.0
	overlay-gen.invalid/otelrt v0.0.0
)

replace overlay-gen.invalid/otelrt => ../runtime
