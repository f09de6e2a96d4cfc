import { printWindow } from '../../audiences/language/audience-language';
import { AccountTraitAst } from './account-trait-ast';
import { printTrait } from './trait-printer';

/**
 * Prints an account trait AST in the text form; parseAccountTrait(printAccountTrait(ast)) deep-equals
 * ast for every valid AST. `by members` goes right after the event (and its property).
 */
export function printAccountTrait(ast: AccountTraitAst): string {
  switch (ast.type) {
    case 'members':
      return 'members';
    case 'active_members':
      return `members active ${printWindow(ast.window)}`;
    case 'of_members':
      return `${ast.fn} computed ${ast.trait} of members`;
    case 'days_since_created':
      return 'days since created';
    case 'by_members':
      return printTrait(ast.of, true);
  }
}
