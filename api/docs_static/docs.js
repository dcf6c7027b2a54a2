// Renders /api/v1/openapi.json: one block per operation, then every schema (no inline script).
"use strict";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  for (const child of children) node.append(child);
  return node;
}

function refName(schema) {
  return schema && schema.$ref ? schema.$ref.split("/").pop() : null;
}

function schemaLink(schema) {
  const name = refName(schema);
  if (name) return el("a", { href: "#schema-" + name }, name);
  return el("code", {}, JSON.stringify(schema));
}

function contentList(content) {
  const list = el("ul");
  for (const [kind, media] of Object.entries(content || {})) {
    list.append(el("li", {}, kind + ": ", schemaLink(media.schema)));
  }
  return list;
}

function parameters(params) {
  const table = el("table", {}, el("tr", {}, el("th", {}, "name"), el("th", {}, "in"),
    el("th", {}, "required"), el("th", {}, "schema")));
  for (const p of params) {
    table.append(el("tr", {}, el("td", {}, p.name), el("td", {}, p.in),
      el("td", {}, p.required ? "yes" : "no"), el("td", {}, JSON.stringify(p.schema))));
  }
  return table;
}

function operation(path, method, op) {
  const auth = (op.security || []).map((s) => Object.keys(s)[0]).join(", ") || "no auth";
  const block = el("details", { class: "op", id: op.operationId },
    el("summary", {}, el("span", { class: "method " + method }, method), " ",
      el("span", { class: "path" }, path), " — " + (op.summary || ""),
      el("span", { class: "auth" }, auth)));
  if (op.description) block.append(el("p", {}, op.description));
  if (op.parameters) block.append(el("h4", {}, "Parameters"), parameters(op.parameters));
  if (op.requestBody) block.append(el("h4", {}, "Request body"), contentList(op.requestBody.content));
  block.append(el("h4", {}, "Responses"));
  const list = el("ul");
  for (const [status, response] of Object.entries(op.responses)) {
    list.append(el("li", {}, status + " " + response.description, contentList(response.content)));
  }
  block.append(list);
  return block;
}

async function render() {
  const main = document.getElementById("operations");
  const response = await fetch("/api/v1/openapi.json");
  const doc = await response.json();
  main.replaceChildren();
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) main.append(operation(path, method, op));
  }
  const schemas = document.getElementById("schemas");
  schemas.append(el("h2", {}, "Schemas"));
  for (const [name, schema] of Object.entries(doc.components.schemas)) {
    schemas.append(el("h3", { id: "schema-" + name }, name),
      el("pre", {}, JSON.stringify(schema, null, 2)));
  }
  document.body.dataset.rendered = String(main.children.length);
}

render().catch((err) => {
  document.getElementById("operations").replaceChildren(el("p", {}, "Could not load: " + err));
});
