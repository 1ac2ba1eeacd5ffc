#!/usr/bin/env python3
"""Seeds a moto_server started with INITIAL_NO_AUTH_ACTION_COUNT=3 for vigil's tests.

  aws_moto_seed.py ENDPOINT identity
      Uses the 3 unauthenticated requests to create an IAM user with an
      allow-all inline policy and an access key; prints {"access_key", "secret_key"}.
  aws_moto_seed.py ENDPOINT ACCESS_KEY SECRET_KEY STEP [ARGS_JSON]
      Runs one seeding step, signed with the given key (moto verifies it):
      put_metric: {"namespace", "metric", "dimensions": {...}, "value", "count"}
      rds_global: {"global", "primary", "secondary"} (clusters in us-east-1 / us-west-2)
      ecs: {"cluster", "service", "desired"}
      scalable_target: {"cluster", "service", "min", "max"}  (Application Auto Scaling, ecs:service:DesiredCount)
      route53_zone: {"name"} -> prints {"zone_id"}
      role: {"name"} -> prints {"arn"}  (IAM role trusting everyone, allow-all policy)
"""
import datetime
import json
import sys

import boto3

POLICY = json.dumps({"Version": "2012-10-17",
                     "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


def session(endpoint, key, secret, region="us-east-1"):
    s = boto3.session.Session(aws_access_key_id=key, aws_secret_access_key=secret, region_name=region)
    return lambda svc, r=region: s.client(svc, endpoint_url=endpoint, region_name=r)


def main():
    endpoint = sys.argv[1]
    if sys.argv[2] == "identity":
        iam = session(endpoint, "AKIDSEED", "seed")("iam")
        iam.create_user(UserName="vigil")
        iam.put_user_policy(UserName="vigil", PolicyName="all", PolicyDocument=POLICY)
        k = iam.create_access_key(UserName="vigil")["AccessKey"]
        print(json.dumps({"access_key": k["AccessKeyId"], "secret_key": k["SecretAccessKey"]}))
        return
    key, secret, step = sys.argv[2], sys.argv[3], sys.argv[4]
    args = json.loads(sys.argv[5]) if len(sys.argv) > 5 else {}
    client = session(endpoint, key, secret)
    out = {}
    if step == "put_metric":
        cw = client("cloudwatch", args.get("region", "us-east-1"))
        now = datetime.datetime.now(datetime.timezone.utc)
        dims = [{"Name": k, "Value": v} for k, v in args.get("dimensions", {}).items()]
        for i in range(args.get("count", 1)):
            cw.put_metric_data(Namespace=args["namespace"], MetricData=[{
                "MetricName": args["metric"], "Dimensions": dims, "Value": float(args["value"]),
                "Timestamp": now - datetime.timedelta(seconds=10 * i)}])
    elif step == "rds_global":
        east, west = client("rds", "us-east-1"), client("rds", "us-west-2")
        east.create_global_cluster(GlobalClusterIdentifier=args["global"], Engine="aurora-postgresql",
                                   EngineVersion="15.4")
        p = east.create_db_cluster(DBClusterIdentifier=args["primary"], Engine="aurora-postgresql",
                                   EngineVersion="15.4", MasterUsername="vigil", MasterUserPassword="vigil-pass-1",
                                   GlobalClusterIdentifier=args["global"])
        s = west.create_db_cluster(DBClusterIdentifier=args["secondary"], Engine="aurora-postgresql",
                                   EngineVersion="15.4", GlobalClusterIdentifier=args["global"])
        out = {"primary_arn": p["DBCluster"]["DBClusterArn"], "secondary_arn": s["DBCluster"]["DBClusterArn"]}
    elif step == "ecs":
        ecs = client("ecs", args.get("region", "us-east-1"))
        ecs.create_cluster(clusterName=args["cluster"])
        ecs.register_task_definition(family="vigil-task", containerDefinitions=[
            {"name": "app", "image": "nginx", "memory": 128}])
        ecs.create_service(cluster=args["cluster"], serviceName=args["service"], taskDefinition="vigil-task",
                           desiredCount=args.get("desired", 1))
    elif step == "scalable_target":
        aas = client("application-autoscaling", args.get("region", "us-east-1"))
        aas.register_scalable_target(ServiceNamespace="ecs", ResourceId=f"service/{args['cluster']}/{args['service']}",
                                     ScalableDimension="ecs:service:DesiredCount", MinCapacity=args["min"],
                                     MaxCapacity=args["max"])
    elif step == "route53_zone":
        r53 = client("route53")
        z = r53.create_hosted_zone(Name=args["name"], CallerReference=args["name"])
        out = {"zone_id": z["HostedZone"]["Id"]}
    elif step == "role":
        iam = client("iam")
        trust = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]})
        r = iam.create_role(RoleName=args["name"], AssumeRolePolicyDocument=trust)
        iam.put_role_policy(RoleName=args["name"], PolicyName="all", PolicyDocument=POLICY)
        out = {"arn": r["Role"]["Arn"]}
    else:
        raise SystemExit(f"unknown step {step}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
