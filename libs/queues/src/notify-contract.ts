// Job contract of the notify queue: see ./names.ts for the rule (every queue's names, data, results and ids live in this lib).
export {};
