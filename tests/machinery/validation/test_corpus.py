"""Typical manifests, as found in the Kubernetes documentation and common charts, pass.

Each document is defaulted and validated as the API server will; none may
produce an error, and updating it with itself must pass too.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest
import yaml

from corral.machinery.validation import strategy_for

CORPUS = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: nginx-deployment, namespace: default, labels: {app: nginx}}
spec:
  replicas: 3
  selector: {matchLabels: {app: nginx}}
  template:
    metadata: {labels: {app: nginx}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.14.2
        ports: [{containerPort: 80}]
        resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {memory: 256Mi}}
        readinessProbe: {httpGet: {path: /, port: 80}, initialDelaySeconds: 5}
        env:
        - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
        - {name: PASSWORD, valueFrom: {secretKeyRef: {name: db, key: password}}}
        volumeMounts: [{name: config, mountPath: /etc/nginx/conf.d}]
      volumes:
      - {name: config, configMap: {name: nginx-conf}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web, namespace: default}
spec:
  selector: {matchLabels: {app: nginx}}
  serviceName: nginx
  replicas: 3
  minReadySeconds: 10
  template:
    metadata: {labels: {app: nginx}}
    spec:
      terminationGracePeriodSeconds: 10
      containers:
      - name: nginx
        image: registry.k8s.io/nginx-slim:0.24
        ports: [{containerPort: 80, name: web}]
        volumeMounts: [{name: www, mountPath: /usr/share/nginx/html}]
  volumeClaimTemplates:
  - metadata: {name: www}
    spec:
      accessModes: [ReadWriteOnce]
      storageClassName: my-storage-class
      resources: {requests: {storage: 1Gi}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: fluentd-elasticsearch, namespace: kube-system, labels: {k8s-app: fluentd-logging}}
spec:
  selector: {matchLabels: {name: fluentd-elasticsearch}}
  template:
    metadata: {labels: {name: fluentd-elasticsearch}}
    spec:
      tolerations:
      - {key: node-role.kubernetes.io/control-plane, operator: Exists, effect: NoSchedule}
      containers:
      - name: fluentd-elasticsearch
        image: quay.io/fluentd_elasticsearch/fluentd:v2.5.2
        volumeMounts: [{name: varlog, mountPath: /var/log}]
      volumes:
      - {name: varlog, hostPath: {path: /var/log}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: pi, namespace: default}
spec:
  backoffLimit: 4
  template:
    spec:
      containers:
      - {name: pi, image: perl:5.34.0, command: [perl, -Mbignum=bpi, -wle, print bpi(2000)]}
      restartPolicy: Never
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: hello, namespace: default}
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - {name: hello, image: busybox:1.28, imagePullPolicy: IfNotPresent,
             command: [/bin/sh, -c, date; echo Hello from the Kubernetes cluster]}
          restartPolicy: OnFailure
---
apiVersion: v1
kind: Service
metadata: {name: my-service, namespace: default}
spec:
  selector: {app.kubernetes.io/name: MyApp}
  ports:
  - {name: http, protocol: TCP, port: 80, targetPort: 9376}
  - {name: https, protocol: TCP, port: 443, targetPort: 9377}
---
apiVersion: v1
kind: Service
metadata: {name: nginx, namespace: default}
spec:
  clusterIP: None
  selector: {app: nginx}
  ports: [{port: 80, name: web}]
---
apiVersion: v1
kind: Service
metadata: {name: lb, namespace: default}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: my-database, namespace: prod}
spec: {type: ExternalName, externalName: my.database.example.com}
---
apiVersion: v1
kind: Pod
metadata: {name: busybox, namespace: default}
spec:
  containers:
  - {name: busybox, image: busybox, command: [sleep, "3600"],
     securityContext: {runAsNonRoot: true, runAsUser: 1000}}
  initContainers:
  - {name: init, image: busybox, command: [sh, -c, "true"]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: game-demo, namespace: default}
data:
  player_initial_lives: "3"
  game.properties: |
    enemy.types=aliens,monsters
---
apiVersion: v1
kind: Secret
metadata: {name: dotfile-secret, namespace: default}
data: {.secret-file: dmFsdWUtMg0KDQo=}
---
apiVersion: v1
kind: Secret
metadata: {name: secret-tls, namespace: default}
type: kubernetes.io/tls
data: {tls.crt: MIIC, tls.key: MIIE}
---
apiVersion: v1
kind: Namespace
metadata: {name: development, labels: {name: development}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: build-robot, namespace: default}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: minimal-ingress
  namespace: default
  annotations: {nginx.ingress.kubernetes.io/rewrite-target: /}
spec:
  ingressClassName: nginx-example
  tls: [{hosts: [https-example.foo.com], secretName: testsecret-tls}]
  rules:
  - host: "*.foo.com"
    http:
      paths:
      - {path: /testpath, pathType: Prefix, backend: {service: {name: test, port: {number: 80}}}}
      - {path: /named, pathType: ImplementationSpecific,
         backend: {service: {name: test, port: {name: http}}}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: test-network-policy, namespace: default}
spec:
  podSelector: {matchLabels: {role: db}}
  policyTypes: [Ingress, Egress]
  ingress:
  - from:
    - ipBlock: {cidr: 172.17.0.0/16, except: [172.17.1.0/24]}
    - namespaceSelector: {matchLabels: {project: myproject}}
    - podSelector: {matchLabels: {role: frontend}}
    ports: [{protocol: TCP, port: 6379}]
  egress:
  - to: [{ipBlock: {cidr: 10.0.0.0/24}}]
    ports: [{protocol: TCP, port: 5978}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: zk-pdb, namespace: default}
spec:
  minAvailable: 2
  selector: {matchLabels: {app: zookeeper}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {namespace: default, name: pod-reader}
rules:
- apiGroups: [""]
  resources: [pods]
  verbs: [get, watch, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:secret-reader"}
rules:
- {apiGroups: [""], resources: [secrets], verbs: [get, watch, list]}
- {nonResourceURLs: [/healthz, /healthz/*], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: read-pods, namespace: default}
subjects:
- {kind: User, name: jane, apiGroup: rbac.authorization.k8s.io}
- {kind: ServiceAccount, name: default, namespace: kube-system}
roleRef: {kind: Role, name: pod-reader, apiGroup: rbac.authorization.k8s.io}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: read-secrets-global}
subjects: [{kind: Group, name: manager, apiGroup: rbac.authorization.k8s.io}]
roleRef: {kind: ClusterRole, name: secret-reader, apiGroup: rbac.authorization.k8s.io}
---
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: my-lease, namespace: default}
spec: {holderIdentity: node-1, leaseDurationSeconds: 40}
"""

RESOURCES = {
    "Deployment": ("apps", "deployments"),
    "StatefulSet": ("apps", "statefulsets"),
    "DaemonSet": ("apps", "daemonsets"),
    "Job": ("batch", "jobs"),
    "CronJob": ("batch", "cronjobs"),
    "Service": ("", "services"),
    "Pod": ("", "pods"),
    "ConfigMap": ("", "configmaps"),
    "Secret": ("", "secrets"),
    "Namespace": ("", "namespaces"),
    "ServiceAccount": ("", "serviceaccounts"),
    "Ingress": ("networking.k8s.io", "ingresses"),
    "NetworkPolicy": ("networking.k8s.io", "networkpolicies"),
    "PodDisruptionBudget": ("policy", "poddisruptionbudgets"),
    "Role": ("rbac.authorization.k8s.io", "roles"),
    "ClusterRole": ("rbac.authorization.k8s.io", "clusterroles"),
    "RoleBinding": ("rbac.authorization.k8s.io", "rolebindings"),
    "ClusterRoleBinding": ("rbac.authorization.k8s.io", "clusterrolebindings"),
    "Lease": ("coordination.k8s.io", "leases"),
}
DOCUMENTS: list[dict[str, Any]] = list(yaml.safe_load_all(CORPUS))


@pytest.mark.parametrize("doc", DOCUMENTS, ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_real_manifests_pass(doc: dict[str, Any]) -> None:
    strategy = strategy_for(*RESOURCES[doc["kind"]])
    obj = copy.deepcopy(doc)
    obj["metadata"]["uid"] = str(uuid.uuid4())
    strategy.default(obj)
    assert [str(e) for e in strategy.validate_create(obj)] == []
    relabelled = copy.deepcopy(obj)
    relabelled["metadata"].setdefault("labels", {})["reviewed"] = "yes"
    assert [str(e) for e in strategy.validate_update(relabelled, obj)] == []
    if doc["kind"] != "Job":  # a Job's generated selector makes its manifest unreplaceable
        replaced = copy.deepcopy(doc)
        strategy.default(replaced)
        assert [str(e) for e in strategy.validate_update(replaced, obj)] == []
