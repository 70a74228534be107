import { GraphQLError, specifiedRules, type ASTVisitor, type ParseOptions, type ValidationContext, type ValidationRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** Nesting of `{`, `[` and `(` a document may have; GraphiQL's introspection query needs 13. */
export const maxDocumentDepth = 64;
/** Tokens a document may have; graphql-js stops lexing past it. */
export const maxDocumentTokens = 50_000;
/** Aliased fields a document may have: each alias runs its resolver (and its I/O) once more. */
export const maxDocumentAliases = 100;

/**
 * Refuses a document nested deeper than {@link maxDocumentDepth}, counted in one pass over the
 * text (strings, block strings and comments skipped), before graphql-js parses it: its parser,
 * validator and executor recurse per level, and a few thousand levels exhaust the stack.
 */
export function checkDocumentDepth(source: string): GraphQLError | undefined {
  let depth = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source.charCodeAt(i);
    if (c === 0x7b || c === 0x5b || c === 0x28) {
      if (++depth > maxDocumentDepth) return parseLimitError(`Syntax Error: the document nests deeper than ${maxDocumentDepth} levels.`);
    } else if (c === 0x7d || c === 0x5d || c === 0x29) {
      depth--;
    } else if (c === 0x23) {
      while (i < source.length && source.charCodeAt(i) !== 0x0a && source.charCodeAt(i) !== 0x0d) i++;
    } else if (c === 0x22) {
      if (source.startsWith('"""', i)) {
        const end = findBlockStringEnd(source, i + 3);
        i = end < 0 ? source.length : end + 2;
      } else {
        for (i++; i < source.length; i++) {
          const s = source.charCodeAt(i);
          if (s === 0x5c) i++;
          else if (s === 0x22 || s === 0x0a || s === 0x0d) break;
        }
      }
    }
  }
  return undefined;
}

function findBlockStringEnd(source: string, from: number): number {
  for (let i = from; i < source.length; i++) {
    if (source.charCodeAt(i) === 0x5c && source.startsWith('\\"""', i)) i += 3;
    else if (source.startsWith('"""', i)) return i;
  }
  return -1;
}

function parseLimitError(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'GRAPHQL_PARSE_FAILED', http: { status: 400 } } });
}

/** Validation rule: at most {@link maxDocumentAliases} aliased fields in a document. */
export function MaxAliasesRule(context: ValidationContext): ASTVisitor {
  let aliases = 0;
  return {
    Field(node) {
      if (node.alias && ++aliases === maxDocumentAliases + 1) {
        context.reportError(new GraphQLError(`The document has more than ${maxDocumentAliases} aliased fields.`, { nodes: node }));
      }
    },
  };
}

/** graphql-js's rules plus the daemon's own, for validations outside yoga (the fast path). */
export const validationRules: readonly ValidationRule[] = [...specifiedRules, MaxAliasesRule];

/** Parse options every parse in the daemon uses. */
export const parseOptions: ParseOptions = { maxTokens: maxDocumentTokens };

/**
 * Envelop plugin: the depth check and token limit on every parse yoga and graphql-ws do, and
 * the alias limit on every validation.
 */
export function useParseLimits(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(MaxAliasesRule);
    },
    onParse({ setParseFn, parseFn }) {
      setParseFn((source, options) => {
        const text = typeof source === 'string' ? source : source.body;
        const error = checkDocumentDepth(text);
        if (error) throw error;
        return parseFn(source, { ...options, ...parseOptions });
      });
    },
  };
}
