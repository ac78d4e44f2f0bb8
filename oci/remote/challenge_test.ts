import assert from "node:assert/strict";
import { test } from "node:test";
import { parseChallenges } from "./challenge.ts";

test("parseChallenges() keeps commas inside quoted values (a push scope)", () => {
  const [challenge] = parseChallenges('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:team/app:pull,push"');
  assert.equal(challenge?.scheme, "bearer");
  assert.deepEqual({ ...challenge?.params }, { realm: "https://auth.example/token", service: "registry.example", scope: "repository:team/app:pull,push" });
});

test("parseChallenges() unescapes quotes, accepts unquoted values and spaces around '='", () => {
  const [challenge] = parseChallenges('Bearer realm = "https://a/t?x=\\"y\\"" , service=reg.example, error="insufficient_scope"');
  assert.deepEqual({ ...challenge?.params }, { realm: 'https://a/t?x="y"', service: "reg.example", error: "insufficient_scope" });
});

test("parseChallenges() splits several challenges in one header and lower-cases schemes and names", () => {
  const challenges = parseChallenges('Basic realm="Registry Realm", BEARER Realm="https://auth/t",scope="repository:a:pull"');
  assert.deepEqual(
    challenges.map((c) => [c.scheme, { ...c.params }]),
    [
      ["basic", { realm: "Registry Realm" }],
      ["bearer", { realm: "https://auth/t", scope: "repository:a:pull" }],
    ],
  );
});

test("parseChallenges() of an empty or garbage header yields no usable challenge", () => {
  assert.deepEqual(parseChallenges(""), []);
  assert.equal(parseChallenges('="x"').length, 0);
});
