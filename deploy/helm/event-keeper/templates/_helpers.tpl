{{/* Chart name, overridable. */}}
{{- define "event-keeper.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: the release name when it already contains the chart name ("event-keeper"). */}}
{{- define "event-keeper.fullname" -}}
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

{{- define "event-keeper.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "event-keeper.selectorLabels" -}}
app.kubernetes.io/name: {{ include "event-keeper.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "event-keeper.labels" -}}
helm.sh/chart: {{ include "event-keeper.chart" . }}
{{ include "event-keeper.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "event-keeper.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "event-keeper.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name must name an existing ServiceAccount when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "event-keeper.leaseName" -}}
{{- default (include "event-keeper.fullname" .) .Values.leaderElection.leaseName }}
{{- end }}

{{- define "event-keeper.checkpointName" -}}
{{- default (printf "%s-checkpoint" (include "event-keeper.fullname" .)) .Values.checkpoint.name }}
{{- end }}

{{- define "event-keeper.image" -}}
{{- $repository := required "image.repository is required: the registry path you pushed the image to" .Values.image.repository }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" $repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" $repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
The `objects` value, checked and sorted. One list feeds both config `source.objects` and the
ClusterRole, so the permissions always match what is watched. Every watchable object is in the
core ("") API group; the map leaves room for objects of other groups.
*/}}
{{- define "event-keeper.objectGroups" -}}
pods: ""
nodes: ""
namespaces: ""
services: ""
persistentvolumeclaims: ""
{{- end }}

{{- define "event-keeper.objects" -}}
{{- $groups := include "event-keeper.objectGroups" . | fromYaml }}
{{- $objects := list }}
{{- range (.Values.objects | default list) }}
{{- if not (hasKey $groups .) }}
{{- fail (printf "objects: %q is not a watchable object; use any of %s" . (keys $groups | sortAlpha | join ", ")) }}
{{- end }}
{{- $objects = append $objects . }}
{{- end }}
{{- toJson ($objects | uniq | sortAlpha) }}
{{- end }}

{{/* Refuses combinations that would export twice or lose the checkpoint on failover. */}}
{{- define "event-keeper.validate" -}}
{{- $replicas := int .Values.replicaCount }}
{{- if and (gt $replicas 1) (not .Values.leaderElection.enabled) }}
{{- fail "replicaCount > 1 needs leaderElection.enabled=true: replicas without a leader would each export every event" }}
{{- end }}
{{- if not (has .Values.checkpoint.store (list "configmap" "file")) }}
{{- fail (printf "checkpoint.store: %q is not configmap or file" .Values.checkpoint.store) }}
{{- end }}
{{- if and (gt $replicas 1) (eq .Values.checkpoint.store "file") }}
{{- fail "replicaCount > 1 needs checkpoint.store=configmap: a new leader cannot read the old leader's checkpoint file" }}
{{- end }}
{{- $source := .Values.config.source | default dict }}
{{- if not (has ($source.api | default "auto") (list "auto" "events-v1" "core-v1")) }}
{{- fail (printf "config.source.api: %q is not auto, events-v1 or core-v1" $source.api) }}
{{- end }}
{{- if hasKey $source "objects" }}
{{- fail "set the top-level `objects` value, not config.source.objects: it also grants the matching RBAC" }}
{{- end }}
{{- range $key, $value := dict "cluster" "clusterName" "checkpoint" "checkpoint" "leader_election" "leaderElection" "server" "server" }}
{{- if hasKey $.Values.config $key }}
{{- fail (printf "config.%s is filled in by the chart; set the top-level `%s` value instead" $key $value) }}
{{- end }}
{{- end }}
{{- if .Values.checkpoint.existingClaim }}
{{- fail "checkpoint.existingClaim has moved to persistence.existingClaim (the volume now holds file sink archives too)" }}
{{- end }}
{{- $mount := trimSuffix "/" .Values.persistence.mountPath }}
{{- if and (eq .Values.checkpoint.store "file") (not (hasPrefix (printf "%s/" $mount) .Values.checkpoint.path)) }}
{{- fail (printf "checkpoint.path: %q is not under persistence.mountPath %q, the only writable volume" .Values.checkpoint.path $mount) }}
{{- end }}
{{- range $i, $sink := (.Values.config.sinks | default list) }}
{{- if eq ($sink.type | default "") "file" }}
{{- if not (hasPrefix (printf "%s/" $mount) (printf "%s/" (trimSuffix "/" ($sink.directory | default "")))) }}
{{- fail (printf "config.sinks[%d].directory: %q is not under persistence.mountPath %q, the only writable volume" $i ($sink.directory | default "") $mount) }}
{{- end }}
{{- if and (gt $replicas 1) (not $.Values.persistence.existingClaim) }}
{{- fail (printf "config.sinks[%d] is a file sink and replicaCount > 1: set persistence.existingClaim to a ReadWriteMany claim, or each replica keeps its own archive" $i) }}
{{- end }}
{{- end }}
{{- end }}
{{- if and .Values.persistence.create .Values.persistence.existingClaim }}
{{- fail "persistence.create and persistence.existingClaim exclude each other" }}
{{- end }}
{{- if and .Values.persistence.create (gt $replicas 1) (not (has "ReadWriteMany" .Values.persistence.accessModes)) }}
{{- fail "persistence.create with replicaCount > 1 needs ReadWriteMany in persistence.accessModes: the replicas share the volume" }}
{{- end }}
{{- if and .Values.serviceMonitor.enabled (not .Values.service.enabled) }}
{{- fail "serviceMonitor.enabled needs service.enabled" }}
{{- end }}
{{- end }}

{{/* config.yaml: `config` plus the keys the chart owns. */}}
{{- define "event-keeper.config" -}}
{{- $cfg := deepCopy (.Values.config | default dict) }}
{{- $_ := set $cfg "cluster" (required "clusterName is required: the name added to every record" .Values.clusterName) }}
{{- $source := deepCopy ($cfg.source | default dict) }}
{{- $_ = set $source "objects" (include "event-keeper.objects" . | fromJsonArray) }}
{{- $_ = set $cfg "source" $source }}
{{- if not $cfg.filter }}
{{- $_ = unset $cfg "filter" }}
{{- end }}
{{- $_ = set $cfg "checkpoint" (dict "store" .Values.checkpoint.store "name" (include "event-keeper.checkpointName" .) "path" .Values.checkpoint.path) }}
{{- $_ = set $cfg "leader_election" (dict "enabled" .Values.leaderElection.enabled "lease_name" (include "event-keeper.leaseName" .)) }}
{{- $_ = set $cfg "server" (dict "listen" (printf "%s:%d" .Values.server.host (int .Values.server.port))) }}
{{- /* The documented key order, for people reading the ConfigMap; unknown keys last. */}}
{{- $order := list "cluster" "source" "filter" "checkpoint" "leader_election" "sinks" "server" "log" }}
{{- range $order }}
{{- if hasKey $cfg . }}
{{ dict . (get $cfg .) | toYaml }}
{{- end }}
{{- end }}
{{- range $key := keys $cfg | sortAlpha }}
{{- if not (has $key $order) }}
{{ dict $key (get $cfg $key) | toYaml }}
{{- end }}
{{- end }}
{{- end }}

{{/* "true" when the data volume is needed: a checkpoint file or a file sink. */}}
{{- define "event-keeper.needsData" -}}
{{- $needs := eq .Values.checkpoint.store "file" }}
{{- range (.Values.config.sinks | default list) }}
{{- if eq (.type | default "") "file" }}{{ $needs = true }}{{ end }}
{{- end }}
{{- $needs }}
{{- end }}

{{- define "event-keeper.dataClaimName" -}}
{{- if .Values.persistence.existingClaim }}
{{- .Values.persistence.existingClaim }}
{{- else if .Values.persistence.create }}
{{- printf "%s-data" (include "event-keeper.fullname" .) }}
{{- end }}
{{- end }}
