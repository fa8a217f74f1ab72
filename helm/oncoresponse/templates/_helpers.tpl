{{/* Chart name, overridable. */}}
{{- define "oncoresponse.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: release-chart, unless the release name already contains the chart name. 63 chars is the DNS label limit. */}}
{{- define "oncoresponse.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "oncoresponse.selectorLabels" -}}
app.kubernetes.io/name: {{ include "oncoresponse.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "oncoresponse.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "oncoresponse.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
The environment variable a Settings field is read from: its camelCase key in values.yaml, in
UPPER_SNAKE_CASE, behind the settings' env prefix. logLevel -> ONCO_LOG_LEVEL.
*/}}
{{- define "oncoresponse.envName" -}}
{{- printf "ONCO_%s" (snakecase . | upper) }}
{{- end }}

{{/*
A value as pydantic-settings reads it from the environment. Helm holds YAML numbers as float64, which
print as 2.097152e+07; whole numbers are printed as integers instead. Lists and maps become JSON.
*/}}
{{- define "oncoresponse.envValue" -}}
{{- if or (kindIs "map" .) (kindIs "slice" .) }}
{{- toJson . }}
{{- else if and (kindIs "float64" .) (eq . (floor .)) }}
{{- int64 . }}
{{- else }}
{{- toString . }}
{{- end }}
{{- end }}

{{/*
The non-secret settings, as a YAML map of ONCO_* variable -> string. A null value is left out so the
service's default applies; `mappings:` points mappingsDir at the mounted ConfigMap.
*/}}
{{- define "oncoresponse.settingsEnv" -}}
{{- $config := deepCopy .Values.config }}
{{- if .Values.mappings }}
{{- if $config.mappingsDir }}
{{- fail "set either mappings (files mounted by the chart) or config.mappingsDir, not both" }}
{{- end }}
{{- $_ := set $config "mappingsDir" .Values.mappingsMountPath }}
{{- end }}
{{- range $key, $value := $config }}
{{- if not (kindIs "invalid" $value) }}
{{ include "oncoresponse.envName" $key }}: {{ include "oncoresponse.envValue" $value | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* The Secret a secret setting comes from: its own name, else the release's full name. */}}
{{- define "oncoresponse.secretName" -}}
{{- default (include "oncoresponse.fullname" .root) .ref.name }}
{{- end }}

{{/*
The worker Deployment (`oncoresponse worker`, no HTTP) and its pods. Adding a component label alone would
not do: the service's selector (name + instance, immutable in an installed release) would still match the
worker pods, so its Service would route requests to them, its PDB count them and its Deployment adopt
them. The worker pods carry another app.kubernetes.io/name instead, and the component label keeps the
worker's selector off the service's pods.
*/}}
{{- define "oncoresponse.workerFullname" -}}
{{- printf "%s-worker" (include "oncoresponse.fullname" . | trunc 56 | trimSuffix "-") }}
{{- end }}

{{- define "oncoresponse.workerSelectorLabels" -}}
app.kubernetes.io/name: {{ printf "%s-worker" (include "oncoresponse.name" . | trunc 56 | trimSuffix "-") }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: worker
{{- end }}

{{- define "oncoresponse.workerLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "oncoresponse.workerSelectorLabels" . }}
app.kubernetes.io/part-of: {{ include "oncoresponse.name" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}
